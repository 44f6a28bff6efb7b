"""storm_variant: one mode of the signal storm (storm_main.cc), both backends.

Every variant links the one storm_main library, compiled once.
"""

load("//:build_defs.bzl", "portsig_backend_test")

def storm_variant(name, duration, tsan_duration, args = [], **kwargs):
    """A storm test pair, `name_posix` and `name_note`.

    Args:
      name: the test pair's name.
      duration: --duration in the default, asan and ubsan builds.
      tsan_duration: --duration under --config=tsan.
      args: the mode's other flags (--faults, --forks).
      **kwargs: passed on (env, tags).
    """
    portsig_backend_test(
        name = name,
        size = "medium",
        args = args + select({
            "//tests/stress:tsan": ["--duration=" + tsan_duration],
            "//conditions:default": ["--duration=" + duration],
        }),
        deps = ["//tests/stress:storm_main"],
        **kwargs
    )
