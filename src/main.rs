//! The `opendpma` binary: parse the command line, set up logging, run the
//! chosen command and turn its outcome into an exit code (0 ok, 1 failure,
//! 2 usage error — clap exits with 2 by itself).

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use std::io::{IsTerminal, Write};

use opendpma::admin::client::ClientError;
use opendpma::admin::commands;
use opendpma::app::{self, Listeners};
use opendpma::cli::{Cli, Command, LogFormat, RenderDocument};
use opendpma::config::{Config, ConfigError, MacAddress};
use opendpma::import;
use opendpma::provision::{DocumentKind, render_phone};
use tracing_subscriber::EnvFilter;

/// How long the runtime may take to end after the application stopped
/// (within `app::STOP_DEADLINE` plus this, the process is gone).
const RUNTIME_WIND_DOWN: std::time::Duration = std::time::Duration::from_millis(200);

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_level.as_deref(), cli.log_format);
    match run(cli.command) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", describe(&error));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line. Our error types already put
/// their source in their own message, so a cause whose text is already
/// there is not repeated ("cannot read phones.toml: No such file …" once).
fn describe(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Check { file } => Ok(check(&file)),
        Command::Serve { config } => {
            let config = Config::load(&config)?;
            tracing::info!(config = %config.source.display(), summary = %config.summary(), "configuration loaded");
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            runtime.block_on(async {
                // Signal handlers before the sockets: a SIGTERM sent as
                // soon as the server answers must stop it cleanly.
                let stop = opendpma::server::shutdown_signal();
                let listeners = Listeners::bind(&config).await?;
                app::run(listeners, config, stop).await
            })?;
            // `app::run` waited for its tasks; what is left (a blocking
            // call past the deadline) must not hold the exit.
            runtime.shutdown_timeout(RUNTIME_WIND_DOWN);
            Ok(ExitCode::SUCCESS)
        }
        Command::Presence(command) => client(commands::presence(command)),
        Command::Device(command) => client(commands::device(command)),
        Command::Hints { target } => client(commands::hints(target)),
        Command::Reconfigure { phone, target } => client(commands::reconfigure(phone, target)),
        Command::ImportDpma {
            file,
            pjsip,
            model,
            server_address,
        } => {
            let sections = import::read_conf(&file)?;
            let secrets = match pjsip {
                Some(pjsip) => import::pjsip_secrets(&import::read_conf(&pjsip)?),
                None => Default::default(),
            };
            let options = import::ImportOptions {
                server_address,
                model: model.as_deref().map(str::parse).transpose()?,
            };
            let imported = import::convert(&sections, &secrets, &options);
            for note in &imported.notes {
                eprintln!("note: {note}");
            }
            print!("{}", imported.toml);
            Ok(ExitCode::SUCCESS)
        }
        Command::Render {
            mac,
            document,
            from,
            model,
            explain,
            config,
        } => {
            let config = Config::load(&config)?;
            let mac: MacAddress = mac.parse()?;
            let phone = config
                .phone_by_mac(&mac)
                .with_context(|| format!("no phone with MAC {mac} in {}", config.source.display()))?;
            if explain {
                print!("{}", config.explain(phone));
                return Ok(ExitCode::SUCCESS);
            }
            let rendered = render_phone(&config, phone)?;
            let documents = rendered.for_model(model).with_context(|| {
                format!(
                    "phone {} has no model in phones.toml: pass --model (D40 … D80)",
                    phone.name
                )
            })?;
            let kind = match document {
                RenderDocument::Config => DocumentKind::Config,
                RenderDocument::Contacts => DocumentKind::Contacts,
                RenderDocument::Blf => DocumentKind::Blf,
            };
            let network = from.and_then(|peer| config.network_for(phone, peer));
            std::io::stdout().write_all(&documents.get_on(kind, network).body)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Runs a client command: its output on stdout and exit 0, or the
/// server's refusal on stderr and exit 1.
fn client(
    command: impl std::future::Future<Output = Result<String, ClientError>>,
) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match runtime.block_on(command) {
        Ok(output) => {
            print!("{output}");
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            eprintln!("error: {error}");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn check(file: &std::path::Path) -> ExitCode {
    match Config::load(file) {
        Ok(config) => {
            let problems = opendpma::server::tls::check(&config);
            if !problems.is_empty() {
                println!("{} has {} TLS problem(s):", file.display(), problems.len());
                for problem in problems {
                    println!("  {problem}");
                }
                return ExitCode::FAILURE;
            }
            for warning in &config.warnings {
                println!("{}:{warning} (warning)", file.display());
            }
            println!("{}: ok ({})", file.display(), config.summary());
            ExitCode::SUCCESS
        }
        Err(error @ ConfigError::Invalid { .. }) => {
            println!("{error}");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr; `RUST_LOG` wins over `--log-level`, default `info`.
fn init_logging(level: Option<&str>, format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level.unwrap_or("info")))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
