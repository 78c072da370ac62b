// Hooks run by the runtime itself (prestart, createRuntime, poststart, poststop): the state JSON
// on stdin, a timeout that kills the hook, and an error naming the hook.
#pragma once

#include <string>
#include <vector>

#include "berth/common/oci/spec.h"
#include "berth/common/result.h"

namespace berth::runtime {

Status run_hooks(const std::vector<oci::Hook>& hooks, const std::string& state_json, const std::string& stage);

}  // namespace berth::runtime
