// The per-container /etc/hosts, /etc/hostname and /etc/resolv.conf that dockerd writes and
// bind-mounts: built from HostConfig (ExtraHosts, Dns*) and the host's resolv.conf.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "berth/common/result.h"
#include "container_config.h"

namespace berth::agent {

// ExtraHosts entries: "name:ip" or "name=ip"; Errc::invalid_argument with dockerd's wording.
Status validate_extra_hosts(const std::vector<std::string>& extra_hosts);
std::string hosts_file(const std::vector<std::string>& extra_hosts);
// Just the ExtraHosts lines ("ip\tname\n"), appended to the host's file in host network mode.
std::string extra_hosts_lines(const std::vector<std::string>& extra_hosts);
// Dns/DnsSearch/DnsOptions when set, else the host's file without loopback nameservers (they
// are the host's, unreachable from the container's network namespace), falling back to
// public resolvers as dockerd does. `host_network` keeps the host's file as it is.
std::string resolv_conf(const HostConfig& host, std::string_view host_resolv_conf, bool host_network);

}  // namespace berth::agent
