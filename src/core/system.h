// Facts about the machine the process runs on.
#pragma once

namespace portico {

// The number of cores this process may run on (its CPU affinity, so `taskset -c 0` gives 1);
// at least 1.
int UsableCores();

}  // namespace portico
