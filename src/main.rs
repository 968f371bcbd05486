//! `rizzler [rizzler.conf] [--port 6379] [--bind 0.0.0.0] [--io auto|uring|epoll] …`

use std::cell::RefCell;
use std::process::ExitCode;
use std::rc::Rc;

use rizzler::config::{Config, IoMode};
use rizzler::net;
use rizzler::server::Server;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RIZZLER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let config = match Config::from_args(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(msg) if msg == "version" => {
            println!("rizzler {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(msg) if msg == "help" => {
            println!("usage: rizzler [/path/to/rizzler.conf] [--port N] [--bind ADDR ...] [--io auto|uring|epoll] [--<config-name> <value> ...]");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("rizzler: {msg}");
            return ExitCode::from(2);
        }
    };
    match run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            tracing::error!("{msg}");
            ExitCode::FAILURE
        }
    }
}

/// The backend that will serve, decided before the server exists so INFO
/// can name it.
enum Backend {
    Uring(Box<net::uring::Ring>),
    Epoll,
}

/// `--io uring` insists; `auto` falls back to epoll with one warning that
/// says why and how to get io_uring.
fn choose_backend(mode: IoMode) -> Result<Backend, String> {
    match mode {
        IoMode::Epoll => Ok(Backend::Epoll),
        IoMode::Uring => net::uring::setup()
            .map(|r| Backend::Uring(Box::new(r)))
            .map_err(|why| format!("--io uring: io_uring is unavailable: {why}")),
        IoMode::Auto => match net::uring::setup() {
            Ok(ring) => Ok(Backend::Uring(Box::new(ring))),
            Err(why) => {
                tracing::warn!(
                    "io_uring is unavailable, serving with epoll instead: {}. To use io_uring: {}. (--io epoll selects epoll without this warning.)",
                    why.reason,
                    why.hint
                );
                Ok(Backend::Epoll)
            }
        },
    }
}

fn run(mut config: Config) -> Result<(), String> {
    net::raise_open_files_limit(&mut config)?;
    let _pidfile = PidFile::create(&config.pidfile);
    let addrs = net::listen_addrs(&config)?;
    let listeners = addrs
        .iter()
        .map(|a| {
            net::listen(*a, config.tcp_backlog).map_err(|e| format!("can't listen on {a}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let backend = choose_backend(config.io)?;
    let (name, detail) = match &backend {
        Backend::Uring(ring) => ("io_uring", format!(" ({})", ring.describe())),
        Backend::Epoll => ("epoll", String::new()),
    };
    tracing::info!(
        "rizzler {} starting: io backend {name}{detail}, listening on {}, pid {}",
        env!("CARGO_PKG_VERSION"),
        addrs
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        std::process::id()
    );
    let mut server = Server::new(config, name);
    rizzler::acl::load_at_startup(&mut server.state)?;
    // With appendonly on, the AOF is what loads, as in Redis.
    if server.state.config.appendonly {
        rizzler::persist::aof::open_at_boot(&mut server)?;
    } else {
        rizzler::persist::snapshot::load_at_boot(&mut server)?;
    }
    let server = Rc::new(RefCell::new(server));
    match backend {
        Backend::Uring(ring) => net::uring::run(*ring, server, listeners),
        Backend::Epoll => net::epoll::run(server, listeners),
    }
    .map_err(|e| format!("server error: {e}"))
}

/// `pidfile`: the process id, written at start-up and removed at a clean
/// exit, as redis-server does. A file that cannot be written is a warning.
struct PidFile(Option<std::path::PathBuf>);

impl PidFile {
    fn create(path: &str) -> PidFile {
        if path.is_empty() {
            return PidFile(None);
        }
        match std::fs::write(path, format!("{}\n", std::process::id())) {
            Ok(()) => PidFile(Some(path.into())),
            Err(e) => {
                tracing::warn!("Failed to write PID file: {e}");
                PidFile(None)
            }
        }
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        if let Some(path) = &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}
