#include "instance/run_state.h"

#include "berth/common/fs.h"
#include "berth/common/json.h"

namespace berth::instance {

std::string_view state_name(State state) {
  switch (state) {
    case State::starting: return "starting";
    case State::running: return "running";
    case State::stopping: return "stopping";
    case State::stopped: return "stopped";
  }
  return "unknown";
}

std::string RunState::describe() const {
  std::string s(state_name(state));
  if (state == State::starting && !step.empty()) s += " (" + step + ")";
  if (state == State::stopped && !reason.empty()) s += " (" + reason + ")";
  return s;
}

std::string to_json(const RunState& st) {
  OrderedJson j;
  j["state"] = std::string(state_name(st.state));
  if (!st.step.empty()) j["step"] = st.step;
  if (!st.reason.empty()) j["reason"] = st.reason;
  if (st.pid) j["pid"] = st.pid;
  if (!st.backend.empty()) j["backend"] = st.backend;
  j["updated"] = st.updated;
  return j.dump() + "\n";
}

Result<RunState> run_state_from_json(std::string_view text) {
  Json j = BERTH_TRY(parse_json(text, "status.json"));
  return json_boundary("status.json", [&] {
    RunState st;
    std::string state = jsonf::opt_string(j, "state", "state").value_or("stopped");
    if (state == "starting") {
      st.state = State::starting;
    } else if (state == "running") {
      st.state = State::running;
    } else if (state == "stopping") {
      st.state = State::stopping;
    } else if (state == "stopped") {
      st.state = State::stopped;
    } else {
      throw JsonFieldError("state", "unknown state \"" + state + "\"");
    }
    st.step = jsonf::opt_string(j, "step", "step").value_or("");
    st.reason = jsonf::opt_string(j, "reason", "reason").value_or("");
    st.pid = jsonf::opt_int(j, "pid", "pid").value_or(0);
    st.backend = jsonf::opt_string(j, "backend", "backend").value_or("");
    st.updated = jsonf::opt_int(j, "updated", "updated").value_or(0);
    return st;
  });
}

Status write_run_state(const std::string& path, const RunState& state) {
  return fs::replace_file(path, to_json(state), 0644);
}

std::optional<RunState> read_run_state(const std::string& path) {
  auto text = fs::read_file(path);
  if (!text) return std::nullopt;
  auto st = run_state_from_json(*text);
  if (!st) return std::nullopt;
  return *st;
}

RunState effective_state(std::optional<RunState> recorded, bool vmhost_alive) {
  if (vmhost_alive) {
    if (recorded && recorded->state != State::stopped) return *recorded;
    // Alive but not yet written (or still showing the last run's end): it is starting.
    RunState st;
    st.state = State::starting;
    return st;
  }
  RunState st;
  st.state = State::stopped;
  if (recorded) {
    st.backend = recorded->backend;
    if (recorded->state == State::stopped) {
      st.reason = recorded->reason;
    } else {
      st.reason = "the berth host process died unexpectedly while " + std::string(state_name(recorded->state));
    }
  }
  return st;
}

}  // namespace berth::instance
