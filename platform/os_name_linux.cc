#include "platform/os_name.h"

namespace portsig {
namespace platform {

const char* PlatformOs() { return "linux"; }

}  // namespace platform
}  // namespace portsig
