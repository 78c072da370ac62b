#include "etc_files.h"

#include <arpa/inet.h>

#include <sstream>

namespace berth::agent {

namespace {

bool valid_ip(const std::string& ip) {
  unsigned char buf[16];
  std::string bare = ip;
  if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']') bare = bare.substr(1, bare.size() - 2);
  return ::inet_pton(AF_INET, bare.c_str(), buf) == 1 || ::inet_pton(AF_INET6, bare.c_str(), buf) == 1;
}

// "name:ip" splits at the first ':' (IPv6 addresses have more); "name=ip" at '='.
std::pair<std::string, std::string> split_host(const std::string& entry) {
  auto eq = entry.find('=');
  auto colon = entry.find(':');
  size_t at = eq != std::string::npos ? eq : colon;
  if (at == std::string::npos) return {entry, ""};
  std::string ip = entry.substr(at + 1);
  if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
  return {entry.substr(0, at), ip};
}

bool is_loopback_nameserver(const std::string& ip) {
  return ip.rfind("127.", 0) == 0 || ip == "::1";
}

}  // namespace

Status validate_extra_hosts(const std::vector<std::string>& extra_hosts) {
  for (const auto& e : extra_hosts) {
    auto [name, ip] = split_host(e);
    if (name.empty() || ip.empty()) return make_error(Errc::invalid_argument, "bad format for add-host: \"" + e + "\"");
    if (ip != "host-gateway" && !valid_ip(ip))
      return make_error(Errc::invalid_argument, "invalid IP address in add-host: \"" + ip + "\"");
  }
  return ok();
}

std::string hosts_file(const std::vector<std::string>& extra_hosts) {
  return "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::\tip6-localnet\nff00::\tip6-mcastprefix\n"
         "ff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n" +
         extra_hosts_lines(extra_hosts);
}

std::string extra_hosts_lines(const std::vector<std::string>& extra_hosts) {
  std::string out;
  for (const auto& e : extra_hosts) {
    auto [name, ip] = split_host(e);
    // No bridge network yet, so the host is only reachable as itself in host mode.
    if (ip == "host-gateway") ip = "127.0.0.1";
    out += ip + "\t" + name + "\n";
  }
  return out;
}

std::string resolv_conf(const HostConfig& host, std::string_view host_file, bool host_network) {
  if (!host.dns.empty() || !host.dns_search.empty() || !host.dns_options.empty()) {
    std::string out;
    std::vector<std::string> servers = host.dns;
    std::vector<std::string> search = host.dns_search;
    std::vector<std::string> options = host.dns_options;
    // Unset parts come from the host's file.
    std::istringstream in{std::string(host_file)};
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream ls(line);
      std::string key, v;
      ls >> key;
      if (key == "nameserver" && host.dns.empty() && ls >> v && (host_network || !is_loopback_nameserver(v))) servers.push_back(v);
      if (key == "search" && host.dns_search.empty())
        while (ls >> v) search.push_back(v);
      if (key == "options" && host.dns_options.empty())
        while (ls >> v) options.push_back(v);
    }
    for (const auto& s : servers) out += "nameserver " + s + "\n";
    if (!search.empty() && !(search.size() == 1 && search[0] == ".")) {
      out += "search";
      for (const auto& s : search) out += " " + s;
      out += "\n";
    }
    if (!options.empty()) {
      out += "options";
      for (const auto& o : options) out += " " + o;
      out += "\n";
    }
    return out;
  }
  if (host_network) return std::string(host_file);
  std::string out;
  bool have_server = false;
  std::istringstream in{std::string(host_file)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string key, v;
    ls >> key;
    if (key == "nameserver") {
      ls >> v;
      if (is_loopback_nameserver(v)) continue;
      have_server = true;
    }
    out += line + "\n";
  }
  if (!have_server) out += "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";
  return out;
}

}  // namespace berth::agent
