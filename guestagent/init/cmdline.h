// berth's parameters on the kernel command line, which is how the host configures the guest
// before any channel to it exists:
//
//   berth.hostname=NAME              default "berth"
//   berth.ip=ADDR/PREFIX[,GW[,DNS…]] static address for eth0; "dhcp" (the default) asks
//   berth.mount=TAG:/abs/path[:ro]   a virtiofs share, mounted at the same path; repeatable
//   berth.time=SECONDS[.FRACTION]    the host's clock when it started the VM (Unix time)
//   berth.debug=1                    enables the control API's test hooks (debug/exec)
//
// Values with spaces are quoted the kernel's way: "berth.mount=t:/a b". Anything malformed,
// and any unknown berth.* key, is reported by name in `problems` and otherwise ignored: a bad
// entry must not stop the VM from booting.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::agent::init {

struct ShareSpec {
  std::string tag;
  std::string path;
  bool read_only = false;
};

struct StaticIp {
  in_addr address{};
  int prefix = 0;
  std::optional<in_addr> gateway;
  std::vector<in_addr> dns;
};

struct BootParams {
  std::string hostname = "berth";
  std::optional<StaticIp> ip;  // empty: DHCP
  std::vector<ShareSpec> shares;
  std::optional<int64_t> time_unix_nanos;
  bool debug = false;
  std::vector<std::string> problems;  // "berth.mount=x: expected TAG:/abs/path[:ro]"
};

// Splits a command line into words as the kernel does: on spaces, with double quotes
// grouping (and removed).
std::vector<std::string> split_cmdline(std::string_view text);

BootParams parse_cmdline(std::string_view text);

// Each parser returns the value or sets `why` (without the parameter name).
std::optional<StaticIp> parse_static_ip(std::string_view value, std::string& why);
std::optional<ShareSpec> parse_share(std::string_view value, std::string& why);
std::optional<int64_t> parse_unix_time(std::string_view value, std::string& why);
bool valid_hostname(std::string_view name);

}  // namespace berth::agent::init
