#include "trace/Png.h"

#include <cmath>
#include <memory>
#include <stdexcept>

#if QUANTA_HAVE_RSVG
#include <cairo.h>
#include <librsvg/rsvg.h>
#endif

namespace quanta::trace {

#if QUANTA_HAVE_RSVG

namespace {

struct GErrorFree {
	void operator()(GError *e) const { g_error_free(e); }
};
struct HandleUnref {
	void operator()(RsvgHandle *h) const { g_object_unref(h); }
};
struct SurfaceDestroy {
	void operator()(cairo_surface_t *s) const { cairo_surface_destroy(s); }
};
struct CairoDestroy {
	void operator()(cairo_t *c) const { cairo_destroy(c); }
};

std::runtime_error rsvgError(const char *what, GError *raw)
{
	std::unique_ptr<GError, GErrorFree> error(raw);
	return std::runtime_error(std::string(what) + ": " + (error ? error->message : "unknown error"));
}

cairo_status_t appendTo(void *closure, const unsigned char *data, unsigned int length)
{
	static_cast<std::string *>(closure)->append(reinterpret_cast<const char *>(data), length);
	return CAIRO_STATUS_SUCCESS;
}

} // namespace

bool pngSupported()
{
	return true;
}

std::string svgToPng(const std::string &svg, double scale)
{
	GError *raw = nullptr;
	std::unique_ptr<RsvgHandle, HandleUnref> handle(
		rsvg_handle_new_from_data(reinterpret_cast<const guint8 *>(svg.data()), svg.size(), &raw));
	if (!handle)
		throw rsvgError("librsvg cannot read the SVG", raw);

	// quanta's plots have a viewBox and no size: the viewBox is the size.
	gboolean hasWidth = FALSE, hasHeight = FALSE, hasViewBox = FALSE;
	RsvgLength width{}, height{};
	RsvgRectangle viewBox{};
	rsvg_handle_get_intrinsic_dimensions(handle.get(), &hasWidth, &width, &hasHeight, &height, &hasViewBox,
					     &viewBox);
	double w = 0, h = 0;
	if (!hasViewBox || !rsvg_handle_get_intrinsic_size_in_pixels(handle.get(), &w, &h)) {
		w = viewBox.width;
		h = viewBox.height;
	}
	if (!(w >= 1 && h >= 1 && w * scale <= 32767 && h * scale <= 32767))
		throw std::runtime_error("the SVG has no usable size for a PNG");
	const int pw = static_cast<int>(std::ceil(w * scale));
	const int ph = static_cast<int>(std::ceil(h * scale));

	std::unique_ptr<cairo_surface_t, SurfaceDestroy> surface(
		cairo_image_surface_create(CAIRO_FORMAT_ARGB32, pw, ph));
	if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS)
		throw std::runtime_error(std::string("cairo: ") + cairo_status_to_string(cairo_surface_status(surface.get())));
	std::unique_ptr<cairo_t, CairoDestroy> cr(cairo_create(surface.get()));
	RsvgRectangle viewport{ 0, 0, static_cast<double>(pw), static_cast<double>(ph) };
	if (!rsvg_handle_render_document(handle.get(), cr.get(), &viewport, &raw))
		throw rsvgError("librsvg cannot draw the SVG", raw);
	cairo_surface_flush(surface.get());

	std::string png;
	cairo_status_t status = cairo_surface_write_to_png_stream(surface.get(), appendTo, &png);
	if (status != CAIRO_STATUS_SUCCESS)
		throw std::runtime_error(std::string("cairo: ") + cairo_status_to_string(status));
	return png;
}

#else

bool pngSupported()
{
	return false;
}

std::string svgToPng(const std::string &, double)
{
	throw std::runtime_error("this quanta was built without librsvg (Debian: librsvg2-dev); write .svg");
}

#endif

} // namespace quanta::trace
