// When something the VM cannot work without fails (/proc will not mount, the data disk is
// refused), PID 1 says what on the console and becomes a shell there instead of exiting,
// which would panic the kernel with nothing but "Attempted to kill init!" to go on.
#pragma once

#include <string>

namespace berth::agent::init {

[[noreturn]] void emergency_shell(const std::string& what);

}  // namespace berth::agent::init
