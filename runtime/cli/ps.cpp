#include <cstdio>
#include <iostream>
#include <set>
#include <sstream>

#include "cli.h"

namespace berth::runtime::cli {

void add_ps(CLI::App& app, Context& ctx) {
  auto* id = new std::string;
  auto* format = new std::string("table");
  auto* ps_args = new std::vector<std::string>;
  auto* cmd = app.add_subcommand("ps", "list the processes of a container");
  cmd->add_option("-f,--format", *format, "table or json")->check(CLI::IsMember({"table", "json"}));
  cmd->add_option("id", *id, "container id")->required();
  cmd->add_option("ps-args", *ps_args, "arguments for ps(1), default -ef");
  set_action(cmd, [&ctx, id, format, ps_args]() -> Result<int> {
    auto pids = BERTH_TRY(ctx.runtime().pids(*id));
    if (*format == "json") {
      std::cout << Json(pids).dump() << "\n";
      return 0;
    }
    // Like runc: run ps(1) on the host and keep the header and the container's lines.
    std::string command = "ps";
    for (const auto& a : (ps_args->empty() ? std::vector<std::string>{"-ef"} : *ps_args)) command += " '" + a + "'";
    FILE* p = ::popen(command.c_str(), "r");
    if (!p) return sys_error("run ps");
    std::set<pid_t> wanted(pids.begin(), pids.end());
    char line[4096];
    int pid_column = -1;
    bool header = true;
    while (std::fgets(line, sizeof line, p)) {
      std::istringstream fields(line);
      std::vector<std::string> cols{std::istream_iterator<std::string>(fields), {}};
      if (header) {
        for (size_t i = 0; i < cols.size(); ++i)
          if (cols[i] == "PID") pid_column = static_cast<int>(i);
        std::cout << line;
        header = false;
        continue;
      }
      if (pid_column >= 0 && static_cast<size_t>(pid_column) < cols.size() &&
          wanted.count(static_cast<pid_t>(std::atoi(cols[static_cast<size_t>(pid_column)].c_str()))))
        std::cout << line;
    }
    ::pclose(p);
    if (pid_column < 0) return make_error(Errc::invalid_argument, "ps output has no PID column");
    return 0;
  });
}

}  // namespace berth::runtime::cli
