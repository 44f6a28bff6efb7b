#include "platform/os_name.h"

namespace portsig {
namespace platform {

const char* PlatformOs() { return "posix"; }

}  // namespace platform
}  // namespace portsig
