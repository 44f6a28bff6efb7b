// Which platform layer this build of portsig uses, for tests and tools that
// must say so: "linux" or "posix" (--//platform:os; CMake: PORTSIG_OS).
#ifndef PORTSIG_PLATFORM_OS_NAME_H_
#define PORTSIG_PLATFORM_OS_NAME_H_

namespace portsig {
namespace platform {

const char* PlatformOs();

}  // namespace platform
}  // namespace portsig

#endif  // PORTSIG_PLATFORM_OS_NAME_H_
