#include "cli/compare_command.h"

#include <onnx_fp16/compare.h>
#include <onnx_fp16/tensor_io.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <vector>

#include "frontend/json_text.h"
#include "cli/text_format.h"

namespace onnx_fp16::cli {
namespace {

struct Row {
  std::string name;
  const Tensor* a;
  const Tensor* b;
  TensorDifference difference;
};

std::string number(double value, int digits = 3) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*g", digits, value);
  return text;
}

std::string type_and_shape(const Tensor& t) { return data_type_name(t.dtype()) + " " + shape_to_string(t.shape()); }

// JSON has no NaN or infinity: they become null (nlohmann's dump), which readers must accept.
nlohmann::ordered_json row_json(const Row& row) {
  const TensorDifference& d = row.difference;
  nlohmann::ordered_json json = {{"name", row.name},
                                 {"a", {{"dtype", data_type_name(row.a->dtype())}, {"shape", row.a->shape()}}},
                                 {"b", {{"dtype", data_type_name(row.b->dtype())}, {"shape", row.b->shape()}}},
                                 {"close", d.close}};
  if (!d.problem.empty()) {
    json["problem"] = d.problem;
    return json;
  }
  json["count"] = d.count;
  json["not_close"] = d.not_close;
  json["nonfinite_mismatches"] = d.nonfinite_mismatches;
  json["max_abs_error"] = d.max_abs_error;
  json["max_rel_error"] = d.max_rel_error;
  json["cosine_similarity"] = d.cosine_similarity;
  return json;
}

std::string row_text(const Row& row, std::size_t width) {
  const TensorDifference& d = row.difference;
  std::string text = pad_right(row.name, width) + "  " + pad_right(type_and_shape(*row.a), 20) + "  ";
  if (!d.problem.empty()) return text + "NOT CLOSE: " + d.problem + "\n";
  text += "max abs " + pad_right(number(d.max_abs_error), 9) + "  max rel " + pad_right(number(d.max_rel_error), 9) +
          "  cosine " + pad_right(number(d.cosine_similarity, 6), 9) + "  ";
  if (d.close) return text + "close\n";
  text += "NOT CLOSE (" + std::to_string(d.not_close) + " of " + std::to_string(d.count);
  if (d.nonfinite_mismatches > 0) text += ", " + std::to_string(d.nonfinite_mismatches) + " NaN/inf";
  return text + ")\n";
}

}  // namespace

CompareCommand::CompareCommand(CLI::App& app) {
  command_ = app.add_subcommand("compare", "Compare the tensors of two files (numpy.allclose, with error statistics)");
  command_->footer(
      "A tensor is close when |a - b| <= atol + rtol * |b| everywhere (NaN never is) and the shapes match.\n"
      "Files: .npz, .npy, .pb, or a folder of input_<N>.pb files.\n"
      "Exit status: 0 when all shared tensors are close and both files hold the same names,\n"
      "1 when not (or on an error), 2 on a usage error.");
  command_->add_option("A", a_path_, "The tensors to check (e.g. the float16 model's outputs)")->required();
  command_->add_option("B", b_path_, "The reference tensors (e.g. the float32 model's outputs)")->required();
  command_->add_option("--rtol", rtol_, "Relative tolerance")->check(CLI::NonNegativeNumber)->capture_default_str();
  command_->add_option("--atol", atol_, "Absolute tolerance")->check(CLI::NonNegativeNumber)->capture_default_str();
  command_->add_flag("--json", json_, "Print JSON instead of a table");
}

int CompareCommand::run() const {
  const auto a = read_tensors(a_path_);
  const auto b = read_tensors(b_path_);
  const Tolerance tolerance{.rtol = rtol_, .atol = atol_};

  std::vector<Row> rows;
  std::vector<std::string> only_a, only_b;
  for (const auto& [name, tensor] : a) {
    const auto it = b.find(name);
    if (it == b.end()) {
      only_a.push_back(name);
    } else {
      rows.push_back({name, &tensor, &it->second, compare_tensors(tensor, it->second, tolerance)});
    }
  }
  for (const auto& [name, tensor] : b) {
    if (!a.contains(name)) only_b.push_back(name);
  }
  std::size_t close = 0;
  for (const Row& row : rows) close += row.difference.close ? 1 : 0;
  const bool all_close = close == rows.size() && only_a.empty() && only_b.empty();

  if (json_) {
    nlohmann::ordered_json json = {{"a", a_path_}, {"b", b_path_}, {"rtol", rtol_}, {"atol", atol_}};
    json["tensors"] = nlohmann::ordered_json::array();
    for (const Row& row : rows) json["tensors"].push_back(row_json(row));
    json["only_in_a"] = only_a;
    json["only_in_b"] = only_b;
    json["all_close"] = all_close;
    std::cout << frontend::json_text(json);
    return all_close ? 0 : 1;
  }

  std::size_t width = 4;
  for (const Row& row : rows) width = std::max(width, row.name.size());
  for (const Row& row : rows) std::cout << row_text(row, width);
  for (const auto& name : only_a) std::cout << "only in " << a_path_ << ": " << name << "\n";
  for (const auto& name : only_b) std::cout << "only in " << b_path_ << ": " << name << "\n";
  std::cout << close << " of " << count_of(rows.size(), "shared tensor", "shared tensors") << " close (rtol "
            << number(rtol_) << ", atol " << number(atol_) << ")" << (all_close ? "" : "; files differ") << "\n";
  return all_close ? 0 : 1;
}

}  // namespace onnx_fp16::cli
