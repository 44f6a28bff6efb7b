"""The repositories portsig's BUILD files name, for any workspace using it.

portsig builds offline from Debian's packages: every external repository is
either a directory in portsig's tree (third_party/) or a package under /usr.
A workspace that depends on portsig declares portsig itself, then calls
`portsig_dependencies` once with the same path:

    local_repository(name = "portsig", path = "/path/to/portsig")
    load("@portsig//:deps.bzl", "portsig_dependencies")
    portsig_dependencies(portsig_path = "/path/to/portsig")

A repository the workspace already declares under one of these names is
left alone, so a workspace with its own rules_cc or bazel_skylib keeps it.
"""

def _declare(name, **kwargs):
    if native.existing_rule(name) == None:
        kwargs.pop("rule")(name = name, **kwargs)

def portsig_dependencies(portsig_path):
    """Declares rules_cc, rules_java, remote_coverage_tools, bazel_skylib and
    system (Debian's Abseil, GoogleTest and Google Benchmark).

    Args:
      portsig_path: where portsig's tree is, as given to its
        local_repository (relative to the calling workspace, or absolute).
    """

    # Bazel 4 would download these three; local stand-ins keep the build
    # offline (see third_party/).
    _declare(
        "rules_cc",
        rule = native.local_repository,
        path = portsig_path + "/third_party/rules_cc",
    )
    _declare(
        "rules_java",
        rule = native.local_repository,
        path = "/usr/share/bazel/rules/java",
    )
    _declare(
        "remote_coverage_tools",
        rule = native.local_repository,
        path = portsig_path + "/third_party/remote_coverage_tools",
    )
    _declare(
        "bazel_skylib",
        rule = native.local_repository,
        path = "/usr/share/bazel/tools/skylib",
    )

    # portsig's BUILD files name this repository @system. Headers live in
    # /usr/include; the BUILD file only carries the libraries to link.
    _declare(
        "system",
        rule = native.new_local_repository,
        build_file = "@portsig//third_party/system:BUILD.system",
        path = "/usr",
    )
