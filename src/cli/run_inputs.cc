#include "cli/run_inputs.h"

#include <onnx_fp16/tensor_io.h>

namespace onnx_fp16::cli {
namespace {

// The inputs a run must feed: an input with an initializer of its name has a default, and ONNX
// test data's input_<N>.pb files number only the others.
std::vector<std::string> inputs_to_feed(const std::vector<InputInfo>& inputs) {
  std::vector<std::string> names;
  for (const InputInfo& input : inputs) {
    if (!input.has_default) names.push_back(input.name);
  }
  return names;
}

std::string name_list(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names) text += (text.empty() ? "'" : ", '") + name + "'";
  return text;
}

}  // namespace

std::map<std::string, Tensor> read_feeds(const std::vector<std::string>& paths, const std::vector<InputInfo>& inputs) {
  const std::vector<std::string> to_feed = inputs_to_feed(inputs);
  std::map<std::string, Tensor> feeds;
  std::map<std::string, std::string> source_of;  // name -> the file it came from, for messages
  for (const std::string& path : paths) {
    for (auto& [stored_name, tensor] : read_tensors(path, to_feed)) {
      std::string name = stored_name;
      if (name.empty()) {
        // A .npy (or unnamed .pb) holds no name: it can only mean the model's one input.
        if (to_feed.size() != 1) {
          throw Error("'" + path + "' holds one unnamed tensor, but the model has " + std::to_string(to_feed.size()) +
                      " inputs to feed (" + name_list(to_feed) + "): give the names in an .npz file");
        }
        name = to_feed.front();
      }
      if (const auto it = source_of.find(name); it != source_of.end()) {
        throw Error("input '" + name + "' is given twice: in '" + it->second + "' and in '" + path + "'");
      }
      source_of[name] = path;
      feeds.emplace(name, std::move(tensor));
    }
  }
  return feeds;
}

}  // namespace onnx_fp16::cli
