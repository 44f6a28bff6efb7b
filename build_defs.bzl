"""Build macros for portsig."""

load("@rules_cc//cc:defs.bzl", "cc_library", "cc_test")

# Libraries whose test variant is the library itself: their sources
# compile the same with and without PORTSIG_TEST_HOOKS (none includes
# platform/test_hooks.h, directly or through a header; test_hooks.h stops
# the build with an #error if one does), and every internal_dep is on this
# list too, so a test binary still never mixes the two variants of a
# library. Each saves one compile of its sources per configuration.
# parker and receiver_slot (and what stands on them) are left off while
# their one-hop wake-ups are being worked on.
_HOOK_FREE = [
    "//os_signal:signal_value",
    "//platform:fatal",
    "//platform:quiet_thread",
    "//platform:readiness_fd",
    "//platform:scoped_signal_block",
    "//platform:signal_names",
    "//platform:sync",
    "//platform:this_thread",
]

def _label(package, target):
    return "//" + package + target if target.startswith(":") else target

def portsig_cc_library(name, internal_deps = [], deps = [], **kwargs):
    """A library in two variants: `name`, and `name_for_test` (testonly).

    The test variant is compiled with PORTSIG_TEST_HOOKS, which turns on the
    fault-injection points of platform/test_hooks.h. `internal_deps` name
    other portsig_cc_library targets; each variant links the matching variant
    of them, so a test binary never mixes the two. Name them with an
    explicit target ("//runtime:runtime", not "//runtime").

    A library on _HOOK_FREE has no hooks to turn on: `name_for_test` is an
    alias of `name`, which is compiled once.
    """
    package = native.package_name()
    if _label(package, ":" + name) in _HOOK_FREE:
        for d in internal_deps:
            if _label(package, d) not in _HOOK_FREE:
                fail(("%s is on _HOOK_FREE (build_defs.bzl) but its internal " +
                      "dep %s is not: the test variant would link the " +
                      "production %s") % (name, d, d))
        cc_library(
            name = name,
            deps = internal_deps + deps,
            local_defines = kwargs.pop("local_defines", []) +
                            ["PORTSIG_HOOK_FREE"],
            **kwargs
        )
        native.alias(
            name = name + "_for_test",
            actual = ":" + name,
            testonly = 1,
            visibility = kwargs.get("visibility"),
        )
        return
    cc_library(
        name = name,
        deps = internal_deps + deps,
        **kwargs
    )
    # The test variant is seen where the library is (the package default
    # unless the library names its own), never wider: tests and benchmarks
    # are inside every package group that sees a library.
    test_kwargs = dict(kwargs)
    cc_library(
        name = name + "_for_test",
        deps = [d + "_for_test" for d in internal_deps] + deps,
        defines = kwargs.get("defines", []) + ["PORTSIG_TEST_HOOKS"],
        testonly = 1,
        **{k: v for k, v in test_kwargs.items() if k != "defines"}
    )

# What a test's own sources are compiled with: these go to the library
# portsig_backend_test compiles them in, everything else (args, data, env,
# size, tags, ...) to the two tests.
_COMPILE_ATTRS = [
    "srcs",
    "deps",
    "copts",
    "defines",
    "local_defines",
    "includes",
    "linkopts",
]

def portsig_backend_test(name, env = {}, **kwargs):
    """One cc_test per signal-queue backend: `name_posix` and `name_note`.

    The backend is chosen the way a user chooses it at run time, through
    PORTSIG_SIGQUEUE, so both run in every `bazel test //...` whatever the
    build default is.

    The sources are compiled once, into `name_lib` (testonly, alwayslink so
    every TEST's registration is linked), and both tests link it: one
    compile per configuration instead of two. Another test built from the
    same sources can list `:name_lib` in its deps and give no srcs.
    """
    lib_kwargs = {k: kwargs.pop(k) for k in _COMPILE_ATTRS if k in kwargs}
    test_deps = []
    if "srcs" in lib_kwargs:
        cc_library(
            name = name + "_lib",
            testonly = 1,
            alwayslink = 1,
            # Only the tests link it, statically: no .so of it to link.
            linkstatic = 1,
            # A manual test's sources are not built by //... either.
            tags = [t for t in kwargs.get("tags", []) if t == "manual"],
            visibility = kwargs.get("visibility"),
            **lib_kwargs
        )
        test_deps = [":" + name + "_lib"]
    else:
        test_deps = lib_kwargs.pop("deps", [])
        kwargs.update(lib_kwargs)
    for backend in ["posix", "note"]:
        test_env = dict(env)
        test_env["PORTSIG_SIGQUEUE"] = backend
        cc_test(
            name = name + "_" + backend,
            env = test_env,
            deps = test_deps,
            **kwargs
        )
    native.test_suite(
        name = name,
        tests = [":" + name + "_posix", ":" + name + "_note"],
        # "manual" on the tests must also keep the suite out of //...
        tags = [t for t in kwargs.get("tags", []) if t == "manual"],
    )
