import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { APP_CONFIG, AppConfig } from '@shortener/config';
import { DataSource } from 'typeorm';
import { DatabaseConnector } from './database-connector';
import { dataSourceOptions } from './data-source.options';
import { PgPools } from './pg-pools';

/**
 * The process's TypeORM DataSource, imported once by each app. The
 * DataSource is handed out uninitialised (repositories resolve their metadata
 * lazily) and {@link DatabaseConnector} connects it in the background, so the
 * boot never waits for PostgreSQL. It never installs extensions: the app role
 * has no right to, and migrations own the schema. @nestjs/typeorm makes the
 * DataSource injectable everywhere; what else a module needs of the database
 * it imports from {@link DatabaseModule}.
 */
@Module({})
export class DatabaseConnectionModule {
  static forRoot(): DynamicModule {
    return {
      module: DatabaseConnectionModule,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [APP_CONFIG],
          useFactory: (config: AppConfig) => ({ ...dataSourceOptions(config), autoLoadEntities: true, installExtensions: false, manualInitialization: true }),
        }),
      ],
    };
  }
}

/**
 * What modules use of the database besides the DataSource: the
 * {@link DatabaseConnector} (connects it, reports readiness) and the
 * {@link PgPools} of the hot queries. Needs {@link DatabaseConnectionModule}
 * in the app.
 */
@Module({
  providers: [DatabaseConnector, { provide: PgPools, inject: [DataSource], useFactory: (dataSource: DataSource) => new PgPools(dataSource) }],
  exports: [DatabaseConnector, PgPools],
})
export class DatabaseModule {}
