// SVG to PNG through librsvg and cairo (linked, not a program run), for
// --plot FILE.png and quanta plot -o FILE.png.
#pragma once

#include <string>

namespace quanta::trace {

// Whether this build can write PNG (librsvg was found at configure time).
bool pngSupported();

// Renders the SVG at `scale` times its viewBox size and returns the PNG's
// bytes. Throws std::runtime_error with librsvg's or cairo's reason.
std::string svgToPng(const std::string &svg, double scale = 2.0);

} // namespace quanta::trace
