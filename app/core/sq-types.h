/* sq-types.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _SqImage           SqImage;
typedef struct _SqModel           SqModel;
typedef struct _SqModelCatalog    SqModelCatalog;
typedef struct _SqPrediction      SqPrediction;
typedef struct _SqReplicateClient SqReplicateClient;
typedef struct _SqSseParser       SqSseParser;
typedef struct _SqWorkspace       SqWorkspace;
typedef struct _SqProject         SqProject;
typedef struct _SqResult          SqResult;

G_END_DECLS
