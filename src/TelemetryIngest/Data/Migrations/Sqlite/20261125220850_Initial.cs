using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Contoso.Retail.TelemetryIngest.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class Initial : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "ingested_batches",
                columns: table => new
                {
                    batch_id = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false),
                    points = table.Column<int>(type: "INTEGER", nullable: false),
                    committed_at = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ingested_batches", x => x.batch_id);
                });

            migrationBuilder.CreateTable(
                name: "points",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    device_id = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false),
                    metric = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false),
                    timestamp = table.Column<DateTime>(type: "TEXT", nullable: false),
                    value = table.Column<double>(type: "REAL", nullable: false),
                    labels = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_points", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_points_device_id_timestamp",
                table: "points",
                columns: new[] { "device_id", "timestamp" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "ingested_batches");

            migrationBuilder.DropTable(
                name: "points");
        }
    }
}
