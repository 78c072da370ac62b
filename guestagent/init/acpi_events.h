// The ACPI power button (QEMU's system_powerdown, VZ's requestStop) as a shutdown request.
// The kernel does not signal init for it: the button driver (button.ko) reports a press as
// an input event and on the "acpi_event" generic-netlink family, which acpid or logind would
// normally listen to. PID 1 subscribes to that family itself, so no daemon and no evdev are
// needed.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "berth/common/result.h"
#include "berth/common/unique_fd.h"

namespace berth::agent::init {

class AcpiEvents {
 public:
  // Subscribes to ACPI events; Errc::not_found when the kernel has no ACPI.
  static Result<AcpiEvents> open();
  int fd() const { return fd_.get(); }
  // Reads what is pending (non-blocking); true if it included a power button press.
  bool power_button_pressed();

 private:
  UniqueFd fd_;
  uint16_t family_id_ = 0;
};

// Pure helpers (unit-tested):
std::vector<uint8_t> genl_get_family_request(uint32_t seq, const std::string& family);
struct GenlFamily {
  uint16_t id = 0;
  std::vector<std::pair<std::string, uint32_t>> groups;  // multicast group name → id
};
std::optional<GenlFamily> parse_genl_family(std::span<const uint8_t> reply);
// The device classes ("button/power", "ac_adapter", ...) of the ACPI events in `packet`
// (messages of family `family_id`).
std::vector<std::string> parse_acpi_events(std::span<const uint8_t> packet, uint16_t family_id);

}  // namespace berth::agent::init
