// Feeds arbitrary text to the CSV reader. The first byte picks the options (delimiter, header, target
// column and kind), so one corpus explores all of them.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "descent/core/error.hpp"
#include "descent/data/csv.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace descent::data;
  if (size == 0) return 0;
  const std::uint8_t choice = data[0];
  CsvOptions options;
  static constexpr char kDelimiters[] = {',', ';', '\t', ' '};
  options.delimiter = kDelimiters[choice & 3];
  options.header = (choice & 4) == 0;
  options.target_kind = (choice & 8) ? TargetKind::Classification : TargetKind::Regression;
  switch ((choice >> 4) & 3) {
    case 0: options.target = -1; break;
    case 1: options.target = 0; break;
    case 2: options.target = "y"; break;
    case 3:
      options.target = 1;
      options.features = {0, "x"};
      break;
  }
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    const TensorDataset dataset = parse_csv(text, options, "fuzz-input");
    if (dataset.is_classification()) (void)dataset.num_classes();
    (void)dataset.flattened();
  } catch (const descent::Error&) {
    // Rejected with a message: the expected outcome for malformed input.
  }
  return 0;
}
