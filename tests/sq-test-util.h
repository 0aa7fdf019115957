/* sq-test-util.h
 *
 * Helpers the test programs share: waiting for a GAsyncResult, temporary
 * trees, test images, the in-process fake Replicate with a client, and
 * the `squint` and `fake-replicate` executables run as subprocesses.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "sq-fake-replicate.h"
#include "sq-image.h"
#include "sq-replicate-client.h"

G_BEGIN_DECLS

/* Waiting for an async operation */

void          sq_test_store_result_cb         (GObject       *object,
                                               GAsyncResult  *result,
                                               gpointer       user_data);
GAsyncResult *sq_test_wait_result             (GAsyncResult **slot);

/* Files */

void          sq_test_remove_tree             (const char    *path);
char         *sq_test_file_sha256             (const char    *path);
char         *sq_test_write_file              (const char    *dir,
                                               const char    *name,
                                               const void    *data,
                                               gsize          len);

/* The environment of the test process */

char         *sq_test_make_xdg_tmpdir         (const char    *tmpl);
void          sq_test_use_file_keyring        (const char    *path);
char         *sq_test_keyring_lookup          (void);

/* Images */

SqImage      *sq_test_load_image_file         (GFile         *file,
                                               GError       **error);
SqImage      *sq_test_load_image_bytes        (GBytes        *bytes,
                                               const char    *name,
                                               GError       **error);
void          sq_test_assert_message_names    (const GError  *error,
                                               const char    *name);

GBytes       *sq_test_make_filled_png         (int            width,
                                               int            height,
                                               gboolean       has_alpha,
                                               guint32        rgba);

/* Other loopback servers */

char         *sq_test_server_listen_local     (SoupServer        *server);

/* The in-process fake Replicate */

typedef struct
{
  SqFakeReplicate   *fake;
  SqReplicateClient *client;
} SqTestFakeFixture;

void          sq_test_wait_for_fake_servers   (SqFakeReplicate   *fake);
void          sq_test_setenv_fake             (SqFakeReplicate   *fake);
guint         sq_test_count_stream_requests   (SqFakeReplicate   *fake);

/* The models with built-in schemas, by display name, that the fake runs */

#define SQ_TEST_N_MODELS 4

extern const char * const sq_test_model_names[SQ_TEST_N_MODELS];

const char   *sq_test_model_ref_for           (const char        *display_name);

/* Predictions about one image by URL */

#define SQ_TEST_IMAGE_URL "https://example.com/images/dog.jpg"

JsonObject   *sq_test_make_input              (const char        *prompt);
char         *sq_test_expected_answer         (SqFakeReplicate   *fake,
                                               const char        *model_ref,
                                               const char        *prompt);
void          sq_test_fake_fixture_set_up     (SqTestFakeFixture *fixture,
                                               gconstpointer      data);
void          sq_test_fake_fixture_tear_down  (SqTestFakeFixture *fixture,
                                               gconstpointer      data);

/* Subprocesses: fake-replicate and squint */

typedef struct
{
  int   status;   /* exit status, or 128 + signal */
  char *out;
  char *err;
} SqTestRun;

void          sq_test_run_free                (SqTestRun          *run);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SqTestRun, sq_test_run_free)

GSubprocess  *sq_test_spawn_fake_replicate    (const char         *requests_log,
                                               const char * const *args,
                                               char              **origin);
void          sq_test_stop_process            (GSubprocess       **process);
GPtrArray    *sq_test_read_requests_log       (const char         *path);
const char   *sq_test_squint_exe              (void);
char        **sq_test_squint_environ          (const char         *tmpdir,
                                               const char         *base_url,
                                               const char         *token,
                                               const char         *settings_backend,
                                               const char         *keyring_path);
GSubprocess  *sq_test_spawn_squint            (const char * const *env,
                                               const char * const *args);
int           sq_test_process_status          (GSubprocess        *process);
SqTestRun    *sq_test_run_squint              (const char * const *env,
                                               const char * const *args);

G_END_DECLS
