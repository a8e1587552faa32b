import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { APP_CONFIG, AppConfig } from '@shortener/config';
import { DatabaseConnector } from './database-connector';
import { dataSourceOptions } from './data-source.options';
import { ENTITIES } from './entities';

/**
 * The TypeORM DataSource, entity repositories and {@link DatabaseConnector}
 * of the process. The DataSource is handed out uninitialised (repositories
 * resolve their metadata lazily) and the connector connects it in the
 * background, so the boot never waits for PostgreSQL. It never installs
 * extensions: the app role has no right to, and migrations own the schema.
 */
@Module({})
export class DatabaseModule {
  static forRoot(): DynamicModule {
    return {
      module: DatabaseModule,
      global: true,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [APP_CONFIG],
          useFactory: (config: AppConfig) => ({ ...dataSourceOptions(config), installExtensions: false, manualInitialization: true }),
        }),
        TypeOrmModule.forFeature(ENTITIES),
      ],
      providers: [DatabaseConnector],
      exports: [TypeOrmModule, DatabaseConnector],
    };
  }
}
