package migrations

// NewMigratorFS is NewMigrator with the migrations and the code given.
var NewMigratorFS = newMigrator
