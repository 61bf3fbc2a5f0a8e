#pragma once
/// \file
/// Configuration keys shared by several subcommands.

#include "xbarmc/backend.hpp"
#include "xbarmc/config/settings.hpp"

namespace xbarmc::app {

/// backend, threads, gpu.
config::Schema backend_keys();
/// seed.
config::Schema seed_key();
/// json: print machine-readable JSON instead of text.
config::Schema json_key();

/// BackendOptions from settings that hold backend_keys().
BackendOptions backend_options(const config::Settings& s);

}  // namespace xbarmc::app
