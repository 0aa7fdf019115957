/* test-icons.c
 *
 * The application icons render (through gdk-pixbuf's SVG loader, as the
 * icon theme does) and the symbolic one is a single colour.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <gdk-pixbuf/gdk-pixbuf.h>

static GdkPixbuf *
render (const char *relative_path,
        int         size)
{
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  GdkPixbuf *pixbuf;

  path = g_test_build_filename (G_TEST_DIST, "..", "data", "icons", "hicolor", relative_path, NULL);
  pixbuf = gdk_pixbuf_new_from_file_at_size (path, size, size, &error);
  g_assert_no_error (error);
  g_assert_nonnull (pixbuf);
  g_assert_cmpint (gdk_pixbuf_get_width (pixbuf), ==, size);
  g_assert_cmpint (gdk_pixbuf_get_height (pixbuf), ==, size);
  g_assert_true (gdk_pixbuf_get_has_alpha (pixbuf));

  return pixbuf;
}

/* Counts opaque pixels and the distinct colours among them. */
static void
survey (GdkPixbuf *pixbuf,
        guint     *n_opaque,
        guint     *n_colours)
{
  g_autoptr(GHashTable) colours = g_hash_table_new (NULL, NULL);
  const guint8 *pixels = gdk_pixbuf_read_pixels (pixbuf);
  int rowstride = gdk_pixbuf_get_rowstride (pixbuf);
  int width = gdk_pixbuf_get_width (pixbuf);
  int height = gdk_pixbuf_get_height (pixbuf);

  *n_opaque = 0;
  for (int y = 0; y < height; y++)
    {
      for (int x = 0; x < width; x++)
        {
          const guint8 *p = pixels + y * rowstride + x * 4;

          if (p[3] != 255)
            continue;
          (*n_opaque)++;
          g_hash_table_add (colours, GUINT_TO_POINTER ((p[0] << 16) | (p[1] << 8) | p[2]));
        }
    }

  *n_colours = g_hash_table_size (colours);
}

static void
test_app_icon (void)
{
  static const int sizes[] = { 16, 32, 64, 128, 256 };

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autoptr(GdkPixbuf) pixbuf = render ("scalable/apps/" APP_ID ".svg", sizes[i]);
      guint n_opaque, n_colours;

      survey (pixbuf, &n_opaque, &n_colours);
      /* Mostly drawn, and in colour. */
      g_assert_cmpuint (n_opaque, >, (guint) (sizes[i] * sizes[i]) / 3);
      g_assert_cmpuint (n_colours, >, 4);
    }
}

static void
test_symbolic_icon (void)
{
  g_autoptr(GdkPixbuf) pixbuf = render ("symbolic/apps/" APP_ID "-symbolic.svg", 64);
  guint n_opaque, n_colours;

  survey (pixbuf, &n_opaque, &n_colours);
  g_assert_cmpuint (n_opaque, >, 64 * 64 / 10);
  g_assert_cmpuint (n_colours, ==, 1);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/icons/app", test_app_icon);
  g_test_add_func ("/icons/symbolic", test_symbolic_icon);

  return g_test_run ();
}
