// The mambaflow CLI: one function per subcommand. Each returns the exit status; errors are
// thrown (mf::Error: exit 1; boost::program_options::error: usage, exit 2) and reported by main.
#pragma once
#include <atomic>
#include <string>
#include <vector>

namespace mf::cli {

using Args = std::vector<std::string>;  // the arguments after the subcommand name

int cmd_info(const Args& args);
int cmd_embed(const Args& args);
int cmd_classify(const Args& args);
int cmd_tag(const Args& args);
int cmd_transcribe(const Args& args);
int cmd_bench(const Args& args);

// Applies --threads (TBB) for the rest of the process; 0 keeps the defaults.
void set_threads(int n);
// True once SIGINT/SIGTERM arrived (long loops check it and stop cleanly).
bool interrupted();
const std::atomic<bool>* interrupted_flag();
void install_signal_handlers();

}  // namespace mf::cli
