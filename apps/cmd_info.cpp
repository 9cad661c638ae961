#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>

#include "apps/cli.h"
#include "io/model_loader.h"

namespace po = boost::program_options;

namespace mf::cli {

int cmd_info(const Args& args) {
  std::string model_dir;
  po::options_description opts("mambaflow info: describe a model\n\nusage: mambaflow info --model DIR\n\noptions");
  opts.add_options()("help,h", "show this help")(
      "model,m", po::value(&model_dir)->required(), "model directory (config.json + model.safetensors)");
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(opts).run(), vm);
  if (vm.count("help")) { std::cout << opts << "\n"; return 0; }
  po::notify(vm);

  auto m = load_model(model_dir);
  const MambaConfig& c = m->config;
  std::printf("model             %s\n", model_dir.c_str());
  std::printf("architecture      Mamba-1 (%s checkpoint)\n", c.source_format.c_str());
  std::printf("d_model           %lld\n", (long long)c.d_model);
  std::printf("layers            %lld\n", (long long)c.n_layer);
  std::printf("d_state           %lld\n", (long long)c.d_state);
  std::printf("d_inner           %lld (expand %.3g)\n", (long long)c.d_inner, double(c.d_inner) / double(c.d_model));
  std::printf("d_conv            %lld\n", (long long)c.d_conv);
  std::printf("dt_rank           %lld\n", (long long)c.dt_rank);
  std::printf("vocab_size        %lld\n", (long long)c.vocab_size);
  std::printf("norm epsilon      %g\n", c.eps);
  std::printf("residual_in_fp32  %s\n", c.residual_in_fp32 ? "yes" : "no");
  std::printf("biases            in/out_proj %s, conv %s\n", c.use_bias ? "yes" : "no", c.use_conv_bias ? "yes" : "no");
  std::printf("parameters        %lld (%.2f M)\n", (long long)m->parameter_count, double(m->parameter_count) / 1e6);
  std::printf("stored dtype      %s (computed in fp32 on the CPU)\n", m->stored_dtype.c_str());
  std::printf("state per stream  %.1f KiB (conv tail + SSM state, fp32)\n",
              double(c.n_layer * c.d_inner * (c.d_conv - 1 + c.d_state) * 4) / 1024.0);
  std::printf("task settings     %s\n", c.mambaflow_json.empty() ? "(none)" : c.mambaflow_json.c_str());
  return 0;
}

}  // namespace mf::cli
