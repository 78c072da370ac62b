// Instance names: they become a directory name, a docker context name ("berth-NAME") and
// part of QEMU's -name, so they are kept to a conservative charset.
#pragma once

#include <string_view>

#include "berth/common/result.h"

namespace berth::instance {

inline constexpr const char* kDefaultName = "default";
inline constexpr size_t kMaxNameLength = 64;

// 1-64 characters of [A-Za-z0-9._-], starting with a letter or digit (so never "." or
// ".." and never an option-looking "-x").
Status validate_name(std::string_view name);

}  // namespace berth::instance
