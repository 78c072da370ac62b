#include <iostream>

#include "cli.h"

namespace berth::runtime::cli {

void add_state(CLI::App& app, Context& ctx) {
  auto* id = new std::string;
  auto* cmd = app.add_subcommand("state", "print a container's state as JSON");
  cmd->add_option("id", *id, "container id")->required();
  set_action(cmd, [&ctx, id]() -> Result<int> {
    auto st = BERTH_TRY(ctx.runtime().state(*id));
    std::cout << st.dump(2) << "\n";
    return 0;
  });
}

void add_list(CLI::App& app, Context& ctx) {
  auto* format = new std::string("table");
  auto* quiet = new bool(false);
  auto* cmd = app.add_subcommand("list", "list containers");
  cmd->alias("ls");
  cmd->add_option("-f,--format", *format, "table or json")->check(CLI::IsMember({"table", "json"}));
  cmd->add_flag("-q,--quiet", *quiet, "ids only");
  set_action(cmd, [&ctx, format, quiet]() -> Result<int> {
    auto all = BERTH_TRY(ctx.runtime().list());
    if (*quiet) {
      for (const auto& c : all) std::cout << c["id"].get<std::string>() << "\n";
    } else if (*format == "json") {
      OrderedJson arr = OrderedJson::array();
      for (const auto& c : all) arr.push_back(c);
      std::cout << (all.empty() ? "null" : arr.dump()) << "\n";
    } else {
      std::printf("%-20s %-8s %-10s %-40s %-32s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
      for (const auto& c : all)
        std::printf("%-20s %-8d %-10s %-40s %-32s %s\n", c["id"].get<std::string>().c_str(), c["pid"].get<int>(),
                    c["status"].get<std::string>().c_str(), c["bundle"].get<std::string>().c_str(),
                    c["created"].get<std::string>().c_str(), c["owner"].get<std::string>().c_str());
    }
    return 0;
  });
}

}  // namespace berth::runtime::cli
