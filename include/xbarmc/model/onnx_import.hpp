#pragma once
/// \file
/// Reading an ONNX file (the protobuf schema of Debian's libonnx-dev) into a Graph:
/// initializers become constants, Constant nodes are folded, nodes are sorted
/// topologically, and every value a node reads must be defined. Operator support
/// is checked later, by the model builder, which knows the supported list.

#include <string>

#include "xbarmc/model/graph.hpp"

namespace xbarmc::model {

/// Reads and checks `path`. A missing, empty, truncated or non-ONNX file, a model
/// with external data, several data inputs or an undefined value throws
/// InvalidInput naming the file.
Graph import_onnx(const std::string& path);

/// The same from the bytes of a file; `source` names it in messages.
Graph import_onnx_bytes(const std::string& bytes, const std::string& source);

}  // namespace xbarmc::model
