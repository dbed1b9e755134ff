// Package sqlcode holds the code of the schema: every function, trigger and view of ixnstore,
// one file each or one per small family, embedded in the binary. Unlike the migrations, which
// are history, these files are the current definitions: after the migrations, every file whose
// content changed is executed again (migrations.ApplyCode), so the database always runs the
// code of the binary that runs it.
//
// schema.sql next to them is generated from a migrated database (see README.md); sqlc and
// people read it, nothing applies it.
package sqlcode

import "embed"

// Files are the code files. They are applied in lexical order of their paths, so a file that
// another one needs when it is created comes first.
//
//go:embed functions/*.sql views/*.sql
var Files embed.FS

// CitusLayout distributes the schema on a Citus cluster (citus/layout.sql). It is not code the
// migrations apply: `ixnstore migrate --citus` runs it once, on the coordinator.
//
//go:embed citus/layout.sql
var CitusLayout string
