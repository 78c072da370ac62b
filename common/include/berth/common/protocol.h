// Host <-> guest protocol constants (DESIGN.md, "Host ↔ guest protocol").
#pragma once

#include <cstdint>

namespace berth::protocol {

inline constexpr uint32_t kDockerApiPort = 2375;
inline constexpr uint32_t kControlPort = 1024;
inline constexpr uint32_t kPortForwardPort = 1025;
inline constexpr uint32_t kSshPort = 22;

// Bumped when host and guest stop understanding each other; the guest image records it.
inline constexpr uint32_t kProtocolVersion = 1;

inline constexpr const char* kControlPrefix = "/berth/v1/";

}  // namespace berth::protocol
