"""Offline stand-in for @rules_cc//cc:defs.bzl.

Bazel 4.2.3 cannot load Debian's rules_cc 0.0.4, so BUILD files load the
rules from here and get the native ones. A newer Bazel can point the
`rules_cc` repository at the real thing without touching any BUILD file.
"""

def cc_library(**kwargs):
    native.cc_library(**kwargs)

def cc_binary(**kwargs):
    native.cc_binary(**kwargs)

def cc_test(**kwargs):
    native.cc_test(**kwargs)

def cc_import(**kwargs):
    native.cc_import(**kwargs)

def cc_toolchain(**kwargs):
    native.cc_toolchain(**kwargs)

def cc_toolchain_suite(**kwargs):
    native.cc_toolchain_suite(**kwargs)

def cc_proto_library(**kwargs):
    native.cc_proto_library(**kwargs)

def objc_library(**kwargs):
    native.objc_library(**kwargs)
