// Seccomp profiles in Docker's document format (the built-in default, seccomp_default.json,
// and user profiles from --security-opt seccomp=…) resolved for one container: rules whose
// includes/excludes name capabilities or architectures are kept or dropped for that
// container's capability set and the machine, as dockerd does before writing the OCI spec.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "berth/common/oci/spec.h"
#include "berth/common/result.h"

namespace berth::agent {

// The built-in profile's text (embedded at build time from seccomp_default.json).
std::string_view default_seccomp_profile();

// "x86_64" → "amd64", "aarch64" → "arm64" (Go's names, used by profiles' "arches").
std::string go_arch(std::string_view machine);

// Errors name the member ("syscalls[3].action: expected string").
Result<oci::LinuxSeccomp> resolve_seccomp_profile(std::string_view profile, const std::vector<std::string>& capabilities,
                                                  std::string_view machine);

}  // namespace berth::agent
