// Which sanitizer this translation unit is built with, asked one way under
// gcc and clang alike. gcc announces ThreadSanitizer with
// __SANITIZE_THREAD__, clang only through __has_feature; code that tested
// one of them behaved differently under the other compiler.
//
// PORTSIG_TSAN is defined (to 1) in a -fsanitize=thread build and not
// defined otherwise. portsig needs it where TSan changes what a correct
// program may rely on: TSan runs a caught signal's handler only at an
// intercepted call, and cannot see the happens-before edges of Debian's
// uninstrumented Abseil.
#ifndef PORTSIG_PLATFORM_SANITIZERS_H_
#define PORTSIG_PLATFORM_SANITIZERS_H_

#if defined(__SANITIZE_THREAD__)
#define PORTSIG_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PORTSIG_TSAN 1
#endif
#endif

#endif  // PORTSIG_PLATFORM_SANITIZERS_H_
