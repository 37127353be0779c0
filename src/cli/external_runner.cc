#include "cli/external_runner.h"

#include <onnx_fp16/error.h>
#include <onnx_fp16/model_io.h>
#include <onnx_fp16/tensor_io.h>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>

namespace onnx_fp16::cli {
namespace {

namespace fs = std::filesystem;

std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (const char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

std::string command_line(std::string command, const fs::path& model, const fs::path& input, const fs::path& output) {
  const bool has_placeholders = command.find("{model}") != std::string::npos ||
                                command.find("{input}") != std::string::npos ||
                                command.find("{output}") != std::string::npos;
  if (!has_placeholders) return command + " " + shell_quote(model) + " " + shell_quote(input) + " " + shell_quote(output);
  replace_all(command, "{model}", shell_quote(model));
  replace_all(command, "{input}", shell_quote(input));
  replace_all(command, "{output}", shell_quote(output));
  return command;
}

// A folder of our own under the temporary directory, removed with everything in it.
class ScratchFolder {
 public:
  ScratchFolder() {
    std::string pattern = (fs::temp_directory_path() / "onnx-fp16-validate-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw Error("cannot create a temporary folder under " + fs::temp_directory_path().string());
    path_ = pattern;
  }
  ~ScratchFolder() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  ScratchFolder(const ScratchFolder&) = delete;
  ScratchFolder& operator=(const ScratchFolder&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

}  // namespace

CandidateRunner make_command_runner(std::string command) {
  return [command](const onnx::ModelProto& model, const std::vector<Feeds>& samples) {
    const ScratchFolder scratch;
    const fs::path model_path = scratch.path() / "candidate.onnx";
    save_model(model, model_path);
    std::vector<std::vector<Tensor>> outputs;
    for (std::size_t s = 0; s < samples.size(); ++s) {
      const fs::path input = scratch.path() / ("input_" + std::to_string(s) + ".npz");
      const fs::path output = scratch.path() / ("output_" + std::to_string(s) + ".npz");
      write_npz(input, samples[s]);
      const std::string line = command_line(command, model_path, input, output);
      const int status = std::system(line.c_str());
      if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        const std::string how = status != -1 && WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                                                   : "did not exit normally";
        throw Error("--validate-cmd '" + command + "' " + how + " on sample " + std::to_string(s));
      }
      if (!fs::exists(output)) {
        throw Error("--validate-cmd '" + command + "' wrote no output file for sample " + std::to_string(s));
      }
      const auto named = read_tensors(output);
      std::vector<Tensor> ordered;
      for (const auto& graph_output : model.graph().output()) {
        auto it = named.find(graph_output.name());
        if (it == named.end()) {
          throw Error("--validate-cmd '" + command + "' did not write output '" + graph_output.name() + "' for sample " +
                      std::to_string(s));
        }
        ordered.push_back(it->second);
      }
      outputs.push_back(std::move(ordered));
    }
    return outputs;
  };
}

}  // namespace onnx_fp16::cli
