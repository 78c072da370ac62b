// What the guest console says about why the guest died: a VM that panics under
// `panic=-1 -no-reboot` just ends QEMU with status 0, and only the console knows why.
#pragma once

#include <string>
#include <string_view>

namespace berth::supervisor {

// "Attempted to kill init! exitcode=0x0000000b" from the last "Kernel panic - not syncing:"
// line in `console`; "" when there is none.
std::string find_panic(std::string_view console);

// The same, from the last 256 KiB of a console log file.
std::string find_panic_in_file(const std::string& path);

}  // namespace berth::supervisor
