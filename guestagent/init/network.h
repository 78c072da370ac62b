// The VM's network: lo and eth0 up, eth0's address from berth.ip= or DHCP, the default
// route, /etc/resolv.conf, and the host name (/etc/hostname, /etc/hosts).
#pragma once

#include <chrono>
#include <string>

#include "berth/common/json.h"
#include "berth/common/result.h"
#include "init/cmdline.h"

namespace berth::agent::init {

struct NetworkInfo {
  std::string interface;  // "eth0"
  std::string method;     // "static", "dhcp"
  std::string address;    // "10.0.2.15/24"
  std::string gateway;
  std::vector<std::string> dns;
  Json to_json() const;
};

// Brings up lo, then the first Ethernet interface. A missing interface or an unanswered
// DHCP is an error for the caller to report; the VM still boots without a network.
Result<NetworkInfo> setup_network(const BootParams& params, std::chrono::milliseconds dhcp_timeout);

// sethostname() plus /etc/hostname and a /etc/hosts line for it.
Status set_hostname(const std::string& name);

// "nameserver A\n..." (+ "search D\n"), what /etc/resolv.conf gets.
std::string resolv_conf(const std::vector<std::string>& dns, const std::string& domain);

}  // namespace berth::agent::init
