// berth-agent before the Docker API agent (guestagent/main.cpp) exists: PID 1 only. Built
// only while no other berth-agent target does (see CMakeLists.txt); the full agent's main
// dispatches to run_pid1() the same way.
#include <cstdio>

#include "init/pid1.h"

int main(int argc, char** argv) {
  if (berth::agent::init::should_run_as_pid1(argc, argv)) berth::agent::init::run_pid1({});
  std::fprintf(stderr, "berth-agent: this build only runs as PID 1 of a berth VM (native mode needs guestagent/main.cpp)\n");
  return 2;
}
