#pragma once
/// \file
/// The configuration keys of `xbarmc run`.

#include "xbarmc/config/settings.hpp"

namespace xbarmc::montecarlo {

/// Every key of `xbarmc run`: study, hardware (hardware_schema()), strategy,
/// execution, output and gate keys.
config::Schema run_schema();

/// The keys an arm may change: the hardware keys and the strategy.
config::Schema arm_schema();

/// The strategy keys (strategy and its parameters).
config::Schema strategy_schema();

}  // namespace xbarmc::montecarlo
