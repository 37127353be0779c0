#include "modelgen/wide_graph_model.h"

#include <array>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "modelgen/builder.h"
#include "modelgen/weights.h"

namespace modelgen {
namespace {

constexpr std::int64_t kWidth = 16;
constexpr int kBranches = 4;
// One chain step per op; Mul and Add read a per-node initializer. Tanh/Sigmoid keep values
// bounded however deep the graph grows.
constexpr std::array<std::string_view, 6> kChainOps = {"Mul", "Add", "Tanh", "Mul", "Sigmoid", "Relu"};
constexpr int kChainLength = static_cast<int>(kChainOps.size());
constexpr int kBlockSize = kBranches * kChainLength + (kBranches - 1);  // chains + join tree

class WideWriter {
 public:
  WideWriter(onnx::ModelProto& model, std::uint64_t seed)
      : graph_(*model.mutable_graph()), builder_(&graph_), seed_(seed) {}

  void write(int node_count) {
    builder_.input("x", onnx::TensorProto::FLOAT, {"batch", kWidth});
    std::string current = "x";
    int block = 0;
    for (; (block + 1) * kBlockSize <= node_count; ++block) current = fan_out_block(block, current);
    const int rest = node_count - block * kBlockSize;
    current = chain("tail", current, rest);
    // The last node must write "y": rename its output rather than add an Identity, so the node
    // count stays exact.
    rename_last_output(current, "y");
    builder_.output("y", onnx::TensorProto::FLOAT, {"batch", kWidth});
  }

 private:
  std::string fan_out_block(int block, const std::string& input) {
    const std::string prefix = "block" + std::to_string(block);
    std::vector<std::string> ends;
    for (int branch = 0; branch < kBranches; ++branch) {
      ends.push_back(chain(prefix + ".branch" + std::to_string(branch), input, kChainLength, branch));
    }
    // Pairwise joins: a balanced tree of Adds whose root is a Max. Max is on the converter's
    // default block list, so every block also makes the converter keep a node in float32 and
    // place casts around it, as real models with a few blocked ops do.
    for (int level = 0; ends.size() > 1; ++level) {
      std::vector<std::string> joined;
      const bool root = ends.size() == 2;
      for (std::size_t i = 0; i + 1 < ends.size(); i += 2) {
        const std::string name = prefix + ".join" + std::to_string(level) + "_" + std::to_string(i / 2);
        builder_.node(root ? "Max" : "Add", {ends[i], ends[i + 1]}, {name}, name);
        joined.push_back(name);
      }
      if (ends.size() % 2 == 1) joined.push_back(ends.back());
      ends = std::move(joined);
    }
    return ends.front();
  }

  // `length` nodes in a row; `phase` rotates the op pattern so branches differ.
  std::string chain(const std::string& prefix, const std::string& input, int length, int phase = 0) {
    std::string current = input;
    for (int step = 0; step < length; ++step) {
      const std::string_view op = kChainOps[(step + phase) % kChainLength];
      const std::string name = prefix + "." + std::to_string(step) + "_" + std::string(op);
      std::vector<std::string> inputs = {current};
      if (op == "Mul" || op == "Add") {
        const float scale = op == "Mul" ? 1.0f : 0.1f;
        add_random_initializer(graph_, name + ".c", {kWidth}, scale, seed_);
        inputs.push_back(name + ".c");
      }
      builder_.node(std::string(op), inputs, {name}, name);
      current = name;
    }
    return current;
  }

  void rename_last_output(const std::string& from, const std::string& to) {
    auto* last = graph_.mutable_node(graph_.node_size() - 1);
    if (last->output(0) != from) throw std::logic_error("wide_graph_model: last node does not write " + from);
    last->set_output(0, to);
  }

  onnx::GraphProto& graph_;
  GraphBuilder builder_;
  std::uint64_t seed_;
};

}  // namespace

onnx::ModelProto wide_graph_model(int node_count, std::uint64_t seed) {
  if (node_count < 1) throw std::invalid_argument("wide_graph_model: node_count must be at least 1");
  onnx::ModelProto model = make_model(17, 8);
  model.mutable_graph()->set_name("wide_graph");
  model.set_doc_string("Synthetic graph of " + std::to_string(node_count) + " small nodes");
  WideWriter(model, seed).write(node_count);
  return model;
}

}  // namespace modelgen
