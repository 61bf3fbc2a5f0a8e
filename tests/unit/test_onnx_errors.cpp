// Bad models: each error names the file (or node) and says what is wrong.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "../common/error_message.hpp"
#include "../common/onnx_builder.hpp"
#include "xbarmc/errors.hpp"
#include "xbarmc/model/ops.hpp"

namespace xbarmc {
namespace {

using xbarmc::testing::thrown_message;

using testing::OnnxBuilder;

const std::string kLenet = std::string(XBARMC_SOURCE_DIR) + "/experiments/models/lenet5.onnx";

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(OnnxErrors, TruncatedNonOnnxEmptyMissing) {
  const std::string bytes = read(kLenet);
  ASSERT_GT(bytes.size(), 1000u);
  // Truncation at several points: a parse error, or a graph missing what it uses.
  for (std::size_t cut : {bytes.size() / 3, bytes.size() / 2, bytes.size() - 7}) {
    const std::string msg =
        thrown_message<InvalidInput>([&] { model::import_onnx_bytes(bytes.substr(0, cut), "cut.onnx"); });
    EXPECT_NE(msg.find("cut.onnx"), std::string::npos) << msg;
  }
  EXPECT_NE(thrown_message<InvalidInput>([] {
              model::import_onnx_bytes("name,value\na,1\n", "table.csv");
            }).find("table.csv: not an ONNX model"),
            std::string::npos);
  EXPECT_NE(thrown_message<InvalidInput>([] { model::import_onnx_bytes("", "empty.onnx"); }).find("empty"),
            std::string::npos);
  EXPECT_NE(thrown_message<InvalidInput>([] {
              model::Model::load("/no/such/dir/model.onnx");
            }).find("/no/such/dir/model.onnx: cannot open"),
            std::string::npos);
}

TEST(OnnxErrors, UnsupportedOperatorNamesOpNodeAndSupportedList) {
  OnnxBuilder b({-1, 4});
  b.node("Relu", {"x"}, {"r"});
  b.node("NonMaxSuppression", {"r"}, {"y"}, "nms_1");
  b.output("y");
  const std::string msg = thrown_message<Unsupported>([&] { b.build(); });
  EXPECT_NE(msg.find("NonMaxSuppression"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'nms_1'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Supported operators: "), std::string::npos) << msg;
  EXPECT_NE(msg.find("Conv"), std::string::npos) << msg;
  EXPECT_NE(msg.find("LayerNormalization"), std::string::npos) << msg;
  // Every operator the issue lists is supported.
  for (const char* op : {"Add",
                         "Sub",
                         "Mul",
                         "Div",
                         "Relu",
                         "Clip",
                         "Sigmoid",
                         "Tanh",
                         "Erf",
                         "Pow",
                         "Sqrt",
                         "ReduceMean",
                         "LayerNormalization",
                         "BatchNormalization",
                         "MaxPool",
                         "AveragePool",
                         "GlobalAveragePool",
                         "Flatten",
                         "Reshape",
                         "Transpose",
                         "Concat",
                         "Slice",
                         "Gather",
                         "Squeeze",
                         "Unsqueeze",
                         "Softmax",
                         "Constant",
                         "Shape",
                         "Identity",
                         "Dropout",
                         "Conv",
                         "Gemm",
                         "MatMul",
                         "Expand",
                         "ConstantOfShape",
                         "Where",
                         "Equal",
                         "Cast",
                         "Range"})
    EXPECT_TRUE(model::is_supported(op)) << op;
}

TEST(OnnxErrors, StructuralProblems) {
  {  // a value nobody defines
    OnnxBuilder b({-1, 4});
    b.node("Add", {"x", "ghost"}, {"y"}, "add_ghost");
    b.output("y");
    const std::string msg = thrown_message<InvalidInput>([&] { b.build(); });
    EXPECT_NE(msg.find("'ghost'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'add_ghost'"), std::string::npos) << msg;
  }
  {  // two data inputs
    OnnxBuilder b({-1, 4});
    auto* in = b.proto().mutable_graph()->add_input();
    in->set_name("x2");
    b.node("Add", {"x", "x2"}, {"y"});
    b.output("y");
    EXPECT_NE(thrown_message<InvalidInput>([&] { b.build(); }).find("2 data inputs"), std::string::npos);
  }
  {  // an opset out of range
    OnnxBuilder b({-1, 4}, 7);
    b.node("Relu", {"x"}, {"y"});
    b.output("y");
    EXPECT_NE(thrown_message<Unsupported>([&] { b.build(); }).find("opset 7"), std::string::npos);
  }
  {  // shapes that do not fit: the message names the node
    OnnxBuilder b({-1, 3, 8, 8});
    b.init("w", {4, 2, 3, 3}, std::vector<float>(72, 0.0f));
    b.node("Conv", {"x", "w"}, {"y"}, "conv_bad");
    b.output("y");
    const std::string msg = thrown_message<InvalidInput>([&] { b.build(); });
    EXPECT_NE(msg.find("'conv_bad'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("3 channels"), std::string::npos) << msg;
  }
  {  // a Reshape whose target comes from the data
    OnnxBuilder b({-1, 4});
    b.node("Reshape", {"x", "x"}, {"y"}, "reshape_dyn");
    b.output("y");
    const std::string msg = thrown_message<Unsupported>([&] { b.build(); });
    EXPECT_NE(msg.find("'reshape_dyn'"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace xbarmc
