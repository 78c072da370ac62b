#include "signals.h"

#include <csignal>
#include <charconv>
#include <utility>

namespace berth::agent {

namespace {
constexpr std::pair<const char*, int> kSignals[] = {
    {"HUP", SIGHUP},     {"INT", SIGINT},       {"QUIT", SIGQUIT},   {"ILL", SIGILL},     {"TRAP", SIGTRAP},
    {"ABRT", SIGABRT},   {"IOT", SIGIOT},       {"BUS", SIGBUS},     {"FPE", SIGFPE},     {"KILL", SIGKILL},
    {"USR1", SIGUSR1},   {"SEGV", SIGSEGV},     {"USR2", SIGUSR2},   {"PIPE", SIGPIPE},   {"ALRM", SIGALRM},
    {"TERM", SIGTERM},   {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},   {"CLD", SIGCHLD},    {"CONT", SIGCONT},
    {"STOP", SIGSTOP},   {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN},   {"TTOU", SIGTTOU},   {"URG", SIGURG},
    {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ},     {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH},
    {"IO", SIGIO},       {"POLL", SIGPOLL},     {"PWR", SIGPWR},     {"SYS", SIGSYS}};
}  // namespace

Result<int> parse_signal(std::string_view text) {
  std::string up;
  for (char c : text) up.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  int n = 0;
  auto [p, ec] = std::from_chars(up.data(), up.data() + up.size(), n);
  if (!up.empty() && ec == std::errc() && p == up.data() + up.size()) {
    if (n <= 0 || n > 64) return make_error(Errc::invalid_argument, "Invalid signal: " + std::string(text));
    return n;
  }
  if (up.rfind("SIG", 0) == 0) up = up.substr(3);
  for (const auto& [name, num] : kSignals)
    if (up == name) return num;
  if (up.rfind("RTMIN", 0) == 0 || up.rfind("RTMAX", 0) == 0) {
    int base = up.rfind("RTMIN", 0) == 0 ? SIGRTMIN : SIGRTMAX;
    std::string rest = up.substr(5);
    if (rest.empty()) return base;
    int off = 0;
    auto [q, ec2] = std::from_chars(rest.data() + 1, rest.data() + rest.size(), off);
    if ((rest[0] == '+' || rest[0] == '-') && ec2 == std::errc() && q == rest.data() + rest.size())
      return base + (rest[0] == '+' ? off : -off);
  }
  return make_error(Errc::invalid_argument, "Invalid signal: " + std::string(text));
}

std::string signal_name(int sig) {
  for (const auto& [name, num] : kSignals)
    if (num == sig) return std::string("SIG") + name;
  return std::to_string(sig);
}

}  // namespace berth::agent
