#include "init/network.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "berth/common/fs.h"
#include "init/dhcp.h"
#include "init/netlink.h"

namespace berth::agent::init {

namespace {

std::string ntoa(in_addr a) {
  char buf[INET_ADDRSTRLEN];
  return ::inet_ntop(AF_INET, &a, buf, sizeof buf) ? buf : "?";
}

// eth0 when it exists (Debian's kernel names virtio-net that way and nothing renames it);
// otherwise the first interface that is not loopback.
std::string find_interface() {
  namespace sfs = std::filesystem;
  std::error_code ec;
  if (sfs::exists("/sys/class/net/eth0", ec)) return "eth0";
  std::vector<std::string> names;
  for (const auto& e : sfs::directory_iterator("/sys/class/net", ec)) {
    std::string n = e.path().filename().string();
    if (n != "lo") names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  return names.empty() ? "" : names.front();
}

Result<MacAddress> read_mac(const std::string& ifname) {
  std::string text = BERTH_TRY(fs::read_file("/sys/class/net/" + ifname + "/address"));
  MacAddress mac{};
  unsigned v[6];
  if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
    return make_error(Errc::protocol, ifname + ": unreadable MAC address \"" + text + "\"");
  for (int i = 0; i < 6; ++i) mac[i] = static_cast<uint8_t>(v[i]);
  return mac;
}

Status link_up(RtNetlink& nl, const std::string& ifname) {
  int index = static_cast<int>(::if_nametoindex(ifname.c_str()));
  if (index == 0) return sys_error("no interface " + ifname);
  uint32_t seq = nl.next_seq();
  return nl.request(link_up_message(seq, index), seq).map_error([&](Error e) { return e.context("bring up " + ifname); });
}

}  // namespace

Json NetworkInfo::to_json() const {
  return {{"interface", interface}, {"method", method}, {"address", address}, {"gateway", gateway}, {"dns", dns}};
}

std::string resolv_conf(const std::vector<std::string>& dns, const std::string& domain) {
  std::string out = "# written by berth-agent at boot\n";
  for (const auto& d : dns) out += "nameserver " + d + "\n";
  if (!domain.empty()) out += "search " + domain + "\n";
  return out;
}

Status set_hostname(const std::string& name) {
  if (::sethostname(name.data(), name.size()) < 0) return sys_error("sethostname " + name);
  BERTH_TRY(fs::write_file("/etc/hostname", name + "\n"));
  // Resolving our own name must not need DNS (sudo-like tools and some runtimes do it).
  auto hosts = fs::read_file("/etc/hosts");
  std::string text = hosts ? *hosts : "127.0.0.1\tlocalhost\n";
  text += "127.0.1.1\t" + name + "\n";
  return fs::write_file("/etc/hosts", text);
}

Result<NetworkInfo> setup_network(const BootParams& params, std::chrono::milliseconds dhcp_timeout) {
  RtNetlink nl = BERTH_TRY(RtNetlink::open());
  BERTH_TRY(link_up(nl, "lo"));

  NetworkInfo info;
  info.interface = find_interface();
  if (info.interface.empty()) return make_error(Errc::not_found, "no network interface (is virtio_net loaded?)");
  BERTH_TRY(link_up(nl, info.interface));
  int index = static_cast<int>(::if_nametoindex(info.interface.c_str()));

  in_addr address{};
  int prefix = 0;
  std::optional<in_addr> gateway;
  std::vector<in_addr> dns;
  std::string domain;
  if (params.ip) {
    info.method = "static";
    address = params.ip->address;
    prefix = params.ip->prefix;
    gateway = params.ip->gateway;
    dns = params.ip->dns;
  } else {
    info.method = "dhcp";
    MacAddress mac = BERTH_TRY(read_mac(info.interface));
    DhcpLease lease = BERTH_TRY(run_dhcp(info.interface, mac, params.hostname, dhcp_timeout).map_error([&](Error e) {
      return e.context("DHCP on " + info.interface);
    }));
    address = lease.address;
    prefix = lease.prefix;
    gateway = lease.router;
    dns = lease.dns;
    domain = lease.domain;
  }

  uint32_t seq = nl.next_seq();
  BERTH_TRY(nl.request(add_address_message(seq, index, address, prefix), seq).map_error([&](Error e) {
    return e.context("add address " + ntoa(address) + "/" + std::to_string(prefix) + " to " + info.interface);
  }));
  info.address = ntoa(address) + "/" + std::to_string(prefix);
  if (gateway) {
    seq = nl.next_seq();
    BERTH_TRY(nl.request(add_default_route_message(seq, index, *gateway), seq).map_error([&](Error e) {
      return e.context("add default route via " + ntoa(*gateway));
    }));
    info.gateway = ntoa(*gateway);
  }
  for (auto d : dns) info.dns.push_back(ntoa(d));
  BERTH_TRY(fs::write_file("/etc/resolv.conf", resolv_conf(info.dns, domain)));
  return info;
}

}  // namespace berth::agent::init
