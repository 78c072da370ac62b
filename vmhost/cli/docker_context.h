// `docker context` entries for instances, when the docker CLI is installed.
#pragma once

#include <string>

namespace berth::cli {

// "berth-NAME".
std::string context_name(const std::string& instance);

// Creates (or points an existing one at `docker_host`) the context; false when the docker
// CLI is missing or refused. Never fatal for berth.
bool ensure_docker_context(const std::string& instance, const std::string& docker_host);
void remove_docker_context(const std::string& instance);

}  // namespace berth::cli
