// Which sanitizer this translation unit is built with, asked one way under
// gcc and clang alike, and the one mark portsig's frames need for
// AddressSanitizer (PORTSIG_UNPOISONED_FRAME, below). gcc announces
// ThreadSanitizer with __SANITIZE_THREAD__, clang only through
// __has_feature; code that tested one of them behaved differently under the
// other compiler.
//
// PORTSIG_TSAN is defined (to 1) in a -fsanitize=thread build and not
// defined otherwise. portsig needs it where TSan changes what a correct
// program may rely on: TSan runs most caught signals' handlers late, at
// the thread's next intercepted call and with every signal blocked
// (parker_linux.cc, sync.h, runtime/signal_handler.cc); it cannot see the
// happens-before edges of Debian's uninstrumented Abseil (sync.h); and a
// pthread_cancel that unwinds out of one of its interceptors leaves the
// interceptor's bookkeeping behind (receiver_slot.cc's sliced sleep).
#ifndef PORTSIG_PLATFORM_SANITIZERS_H_
#define PORTSIG_PLATFORM_SANITIZERS_H_

#if defined(__SANITIZE_THREAD__)
#define PORTSIG_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PORTSIG_TSAN 1
#endif
#endif

// PORTSIG_UNPOISONED_FRAME marks a function that a pthread_cancel may
// unwind through (it is below ReceiverSlot::Sleep's wait): ASan gives it no
// stack redzones. glibc's forced unwinding skips the epilogues that would
// unpoison them, and the redzones left behind are where ASan's own
// __asan_handle_no_return (called before Sleep rethrows the cancellation,
// receiver_slot.h) puts the stack_t it passes to sigaltstack: gcc 12's ASan
// then reported a stack-buffer-underflow in its own interceptor
// (channel_test, exit_test and sleeping_receiver_test, under
// --config=asan). Harmless without ASan: both compilers accept the
// attribute in every build.
#define PORTSIG_UNPOISONED_FRAME __attribute__((no_sanitize_address))

#endif  // PORTSIG_PLATFORM_SANITIZERS_H_
