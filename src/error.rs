//! Every error a command can answer, and its exact Redis 7.0 text.
//!
//! Handlers return `Err(CmdError::…)`; the dispatcher writes it. No error text
//! is formatted anywhere else, so a wording fix happens in one place.

/// A command failed; the connection lives on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CmdError {
    WrongType,
    NotInteger,
    NotFloat,
    Overflow,
    IncrFloatNanOrInf,
    Syntax,
    NoSuchKey,
    OutOfRange,
    IndexOutOfRange,
    DbIndexOutOfRange,
    StringTooLong,
    /// `invalid expire time in '<name>' command`: carries the lower-case
    /// command name (`"set"`, `"expire"`, …).
    InvalidExpire(&'static str),
    ExpireOptionsConflict,
    MustBePositive,
    SameObject,
    HelloProto,
    InvalidCursor,
    ClientNoSuchClient,
    ClientNameSpaces,
    NoAuth,
    /// EXEC of a transaction that had a command refused while queueing.
    ExecAbort,
    /// A NO_MULTI command (SAVE, SHUTDOWN, …) inside MULTI.
    NotInMulti,
    AuthNoPassword,
    WrongPass,
    Oom,
    MaxClients,
    ProtectedMode,
    DebugNotAllowed,
    /// EXPIRE … GT LT. (Other options are refused with
    /// [`CmdError::unsupported_option`].)
    ExpireGtLtConflict,
    /// An argument Redis reads as a C `int` (a database index) that parses
    /// as an integer but does not fit 32 bits.
    IntOutOfRange,
    HelloProtoNotInt,
    HelloNoAuth,
    SwapdbFirstIndex,
    SwapdbSecondIndex,
    InvalidClientId,
    ClientIdNotPositive,
    ConfigNoFile,
    NoShutdown,
    ObjectFreqNoLfu,
    ObjectIdleLfu,
    GetkeysInvalidCommand,
    GetkeysNoKeys,
    GetkeysArity,
    GetkeysInvalidArgs,
    DecrementOverflow,
    /// Redis's bare `-ERR` (`shared.err`): SAVE or BGSAVE failed; the log
    /// says why.
    Err,
    BgsaveInProgress,
    ShutdownFailed,
    DebugReloadOptions,
    DebugReloadFailed,
    /// Writes refused after a failed background save
    /// (`stop-writes-on-bgsave-error`).
    MisconfRdb,
    Loading,
    AofOff,
    AofRewriteInProgress,
    BgsaveBusy,
    AclBadUsername,
    AclDeleteDefault,
    AclNoFile,
    AclSaveFailed,
    AclGenpassBits,
    ClientPauseMode,
    DebugPackedThreshold,
    DebugPushResp2,
    DebugProtocolType,
    TimeoutNotInteger,
    TimeoutNegative,
    TrackingOneRedirect,
    TrackingNoRedirectTarget,
    TrackingPrefixNeedsBcast,
    TrackingBcastSwitch,
    TrackingOptBcast,
    TrackingOptinOptout,
    TrackingOptSwitch,
    CachingNotTracking,
    CachingYesNotOptin,
    CachingNoNotOptout,
    GeoUnit,
    GeoNeedRadius,
    GeoNeedWidth,
    GeoNeedHeight,
    GeoRadiusNegative,
    GeoBoxNegative,
    GeoCountPositive,
    GeoMemberUndecodable,
    GeoAnyWithoutCount,
    RestorePayload,
    RestoreBadData,
    BusyKey,
    RestoreBadTtl,
    RestoreBadIdle,
    RestoreBadFreq,
    /// SETBIT, GETBIT, BITFIELD: a bit offset that is not an integer, is
    /// negative or lies past `proto-max-bulk-len`.
    BitOffset,
    /// SETBIT's value is neither 0 nor 1.
    BitValue,
    /// BITPOS's bit is neither 0 nor 1.
    BitArg,
    BitopNot,
    BitfieldType,
    BitfieldOverflow,
    BitfieldRo,
    /// A string that is not an HLL where one is needed.
    HllWrongType,
    /// An HLL whose registers do not decode.
    HllCorrupted,
    /// PFDEBUG on a missing key.
    HllNoKey,
    /// PFDEBUG DECODE of a dense HLL.
    HllNotSparse,
    LcsIdxLen,
    LcsMemory,
    LcsAllocFailed,
    LcsTooLong,
    LcsNotStrings,
    /// A stream command's error (`t_stream.c`).
    Stream(StreamError),
    /// A pre-formatted `ERR …` (or other code) line for the few errors whose
    /// text carries arguments: build it with the constructors below.
    Custom(Vec<u8>),
    /// EVALSHA / FCALL of a script that is not cached.
    NoScript,
    /// A script without `no-writes` run by EVAL_RO / EVALSHA_RO.
    ScriptWriteFlagRo,
    /// A script with flags but without `allow-oom`, over maxmemory.
    ScriptOom,
    ScriptNumkeysNegative,
    ScriptNumkeysTooMany,
    ScriptFlushOption,
    ScriptNotBusy,
    /// Another client's command while a script runs past
    /// busy-reply-threshold (EVAL's or FCALL's wording).
    BusyScript {
        eval: bool,
    },
    /// SCRIPT KILL of a script that has written.
    ScriptUnkillable,
    ScriptInvalidShebang,
}

impl CmdError {
    /// The error line without the leading `-` and the CRLF.
    pub fn message(&self) -> &[u8] {
        let text = match self {
            CmdError::WrongType => {
                "WRONGTYPE Operation against a key holding the wrong kind of value"
            }
            CmdError::NotInteger => "ERR value is not an integer or out of range",
            CmdError::NotFloat => "ERR value is not a valid float",
            CmdError::Overflow => "ERR increment or decrement would overflow",
            CmdError::IncrFloatNanOrInf => "ERR increment would produce NaN or Infinity",
            CmdError::Syntax => "ERR syntax error",
            CmdError::NoSuchKey => "ERR no such key",
            CmdError::OutOfRange => "ERR offset is out of range",
            CmdError::IndexOutOfRange => "ERR index out of range",
            CmdError::DbIndexOutOfRange => "ERR DB index is out of range",
            CmdError::StringTooLong => "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
            CmdError::InvalidExpire(cmd) => invalid_expire_text(cmd),
            CmdError::ExpireOptionsConflict => {
                "ERR NX and XX, GT or LT options at the same time are not compatible"
            }
            CmdError::MustBePositive => "ERR value is out of range, must be positive",
            CmdError::SameObject => "ERR source and destination objects are the same",
            CmdError::HelloProto => "NOPROTO unsupported protocol version",
            CmdError::InvalidCursor => "ERR invalid cursor",
            CmdError::ClientNoSuchClient => "ERR No such client",
            CmdError::ClientNameSpaces => {
                "ERR Client names cannot contain spaces, newlines or special characters."
            }
            CmdError::NoAuth => "NOAUTH Authentication required.",
            CmdError::ExecAbort => "EXECABORT Transaction discarded because of previous errors.",
            CmdError::NotInMulti => "ERR Command not allowed inside a transaction",
            CmdError::AuthNoPassword => "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
            CmdError::WrongPass => "WRONGPASS invalid username-password pair or user is disabled.",
            CmdError::MaxClients => "ERR max number of clients reached",
            CmdError::DebugNotAllowed => "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.",
            CmdError::ProtectedMode => "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.",
            CmdError::Oom => "OOM command not allowed when used memory > 'maxmemory'.",
            CmdError::ExpireGtLtConflict => {
                "ERR GT and LT options at the same time are not compatible"
            }
            CmdError::IntOutOfRange => {
                "ERR value is out of range, value must between -2147483648 and 2147483647"
            }
            CmdError::HelloProtoNotInt => "ERR Protocol version is not an integer or out of range",
            CmdError::HelloNoAuth => "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
            CmdError::SwapdbFirstIndex => "ERR invalid first DB index",
            CmdError::SwapdbSecondIndex => "ERR invalid second DB index",
            CmdError::InvalidClientId => "ERR Invalid client ID",
            CmdError::ClientIdNotPositive => "ERR client-id should be greater than 0",
            CmdError::ConfigNoFile => "ERR The server is running without a config file",
            CmdError::NoShutdown => "ERR No shutdown in progress.",
            CmdError::ObjectFreqNoLfu => "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
            CmdError::ObjectIdleLfu => "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
            CmdError::GeoUnit => "ERR unsupported unit provided. please use M, KM, FT, MI",
            CmdError::GeoNeedRadius => "ERR need numeric radius",
            CmdError::GeoNeedWidth => "ERR need numeric width",
            CmdError::GeoNeedHeight => "ERR need numeric height",
            CmdError::GeoRadiusNegative => "ERR radius cannot be negative",
            CmdError::GeoBoxNegative => "ERR height or width cannot be negative",
            CmdError::GeoCountPositive => "ERR COUNT must be > 0",
            CmdError::GeoMemberUndecodable => "ERR could not decode requested zset member",
            CmdError::GeoAnyWithoutCount => "ERR the ANY argument requires COUNT argument",
            CmdError::RestorePayload => "ERR DUMP payload version or checksum are wrong",
            CmdError::RestoreBadData => "ERR Bad data format",
            CmdError::BusyKey => "BUSYKEY Target key name already exists.",
            CmdError::RestoreBadTtl => "ERR Invalid TTL value, must be >= 0",
            CmdError::RestoreBadIdle => "ERR Invalid IDLETIME value, must be >= 0",
            CmdError::RestoreBadFreq => "ERR Invalid FREQ value, must be >= 0 and <= 255",
            CmdError::GetkeysInvalidCommand => "ERR Invalid command specified",
            CmdError::GetkeysNoKeys => "ERR The command has no key arguments",
            CmdError::GetkeysArity => "ERR Invalid number of arguments specified for command",
            CmdError::GetkeysInvalidArgs => "ERR Invalid arguments specified for command",
            CmdError::DecrementOverflow => "ERR decrement would overflow",
            CmdError::Err => "ERR",
            CmdError::BgsaveInProgress => "ERR Background save already in progress",
            CmdError::ShutdownFailed => "ERR Errors trying to SHUTDOWN. Check logs.",
            CmdError::DebugReloadOptions => {
                "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options."
            }
            CmdError::DebugReloadFailed => "ERR Error trying to load the RDB dump",
            CmdError::MisconfRdb => "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.",
            CmdError::Loading => "LOADING Redis is loading the dataset in memory",
            CmdError::AofOff => "ERR Background append only file rewriting needs appendonly yes in rizzler",
            CmdError::AofRewriteInProgress => {
                "ERR Background append only file rewriting already in progress"
            }
            CmdError::BgsaveBusy => "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.",
            CmdError::AclBadUsername => "ERR Usernames can't contain spaces or null characters",
            CmdError::AclDeleteDefault => "ERR The 'default' user cannot be removed",
            CmdError::AclNoFile => "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.",
            CmdError::AclSaveFailed => "ERR There was an error trying to save the ACLs. Please check the server logs for more information",
            CmdError::AclGenpassBits => "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096",
            CmdError::DebugPackedThreshold => "ERR argument must be a memory value bigger than 1 and smaller than 4gb",
            CmdError::DebugPushResp2 => "ERR RESP2 is not supported by this command",
            CmdError::DebugProtocolType => "ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false",
            CmdError::ClientPauseMode => "ERR CLIENT PAUSE mode must be WRITE or ALL",
            CmdError::TimeoutNotInteger => "ERR timeout is not an integer or out of range",
            CmdError::TimeoutNegative => "ERR timeout is negative",
            CmdError::TrackingOneRedirect => "ERR A client can only redirect to a single other client",
            CmdError::TrackingNoRedirectTarget => "ERR The client ID you want redirect to does not exist",
            CmdError::TrackingPrefixNeedsBcast => "ERR PREFIX option requires BCAST mode to be enabled",
            CmdError::TrackingBcastSwitch => "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.",
            CmdError::TrackingOptBcast => "ERR OPTIN and OPTOUT are not compatible with BCAST",
            CmdError::TrackingOptinOptout => "ERR You can't specify both OPTIN mode and OPTOUT mode",
            CmdError::TrackingOptSwitch => "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.",
            CmdError::CachingNotTracking => "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
            CmdError::CachingYesNotOptin => "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
            CmdError::CachingNoNotOptout => "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
            CmdError::BitOffset => "ERR bit offset is not an integer or out of range",
            CmdError::BitValue => "ERR bit is not an integer or out of range",
            CmdError::BitArg => "ERR The bit argument must be 1 or 0.",
            CmdError::BitopNot => "ERR BITOP NOT must be called with a single source key.",
            CmdError::BitfieldType => "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
            CmdError::BitfieldOverflow => "ERR Invalid OVERFLOW type specified",
            CmdError::BitfieldRo => "ERR BITFIELD_RO only supports the GET subcommand",
            CmdError::HllWrongType => "WRONGTYPE Key is not a valid HyperLogLog string value.",
            CmdError::HllCorrupted => "INVALIDOBJ Corrupted HLL object detected",
            CmdError::HllNoKey => "ERR The specified key does not exist",
            CmdError::HllNotSparse => "ERR HLL encoding is not sparse",
            CmdError::LcsIdxLen => "ERR If you want both the length and indexes, please just use IDX.",
            CmdError::LcsMemory => "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
            CmdError::LcsAllocFailed => {
                "ERR Insufficient memory, failed allocating transient memory for LCS"
            }
            CmdError::LcsTooLong => "ERR String too long for LCS",
            CmdError::LcsNotStrings => "ERR The specified keys must contain string values",
            CmdError::Stream(e) => e.text(),
            CmdError::Custom(s) => return s,
            CmdError::NoScript => "NOSCRIPT No matching script. Please use EVAL.",
            CmdError::ScriptWriteFlagRo => {
                "ERR Can not execute a script with write flag using *_ro command."
            }
            CmdError::ScriptOom => "OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'",
            CmdError::ScriptNumkeysNegative => "ERR Number of keys can't be negative",
            CmdError::ScriptNumkeysTooMany => {
                "ERR Number of keys can't be greater than number of args"
            }
            CmdError::ScriptFlushOption => "ERR SCRIPT FLUSH only support SYNC|ASYNC option",
            CmdError::ScriptNotBusy => "NOTBUSY No scripts in execution right now.",
            CmdError::BusyScript { eval: true } => {
                "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
            }
            CmdError::BusyScript { eval: false } => {
                "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
            }
            CmdError::ScriptUnkillable => {
                "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command."
            }
            CmdError::ScriptInvalidShebang => "ERR Invalid script shebang",
        };
        text.as_bytes()
    }

    /// `ERR unknown command 'name', with args beginning with: 'a' 'b' `.
    pub fn unknown_command<'a>(name: &[u8], args: impl Iterator<Item = &'a [u8]>) -> Self {
        let mut listed = Vec::new();
        for arg in args {
            if listed.len() >= 128 {
                break;
            }
            let room = 128 - listed.len();
            listed.push(b'\'');
            listed.extend_from_slice(c_str_prefix(arg, room));
            listed.extend_from_slice(b"' ");
        }
        let mut s = b"ERR unknown command '".to_vec();
        s.extend_from_slice(c_str_prefix(name, 128));
        s.extend_from_slice(b"', with args beginning with: ");
        s.extend_from_slice(&listed);
        CmdError::Custom(s)
    }

    /// `ERR unknown subcommand 'x'. Try CONFIG HELP.`
    pub fn unknown_subcommand(sub: &[u8], container: &str) -> Self {
        let mut s = b"ERR unknown subcommand '".to_vec();
        s.extend_from_slice(c_str_prefix(sub, 128));
        s.extend_from_slice(format!("'. Try {} HELP.", container.to_ascii_uppercase()).as_bytes());
        CmdError::Custom(s)
    }

    /// A subscribed RESP2 client ran something other than the commands
    /// that manage its subscriptions.
    pub fn subscribed_mode(full_name: &str) -> Self {
        CmdError::err(format!(
            "ERR Can't execute '{full_name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
        ))
    }

    /// `ERR wrong number of arguments for 'get' command`.
    pub fn arity(full_name: &str) -> Self {
        CmdError::err(format!(
            "ERR wrong number of arguments for '{full_name}' command"
        ))
    }

    /// `ERR Unsupported option xx` (EXPIRE and friends), the option cut at a
    /// NUL as C's `%s` does.
    pub fn unsupported_option(opt: &[u8]) -> Self {
        let mut s = b"ERR Unsupported option ".to_vec();
        s.extend_from_slice(c_str_prefix(opt, opt.len()));
        CmdError::Custom(s)
    }

    /// `ERR Unknown PFDEBUG subcommand 'x'`.
    pub fn pfdebug_unknown(sub: &[u8]) -> Self {
        quoted("ERR Unknown PFDEBUG subcommand '", sub, usize::MAX, "'")
    }

    /// `ERR Syntax error in HELLO option 'x'`.
    pub fn hello_option(opt: &[u8]) -> Self {
        quoted("ERR Syntax error in HELLO option '", opt, usize::MAX, "'")
    }

    /// `ERR Unknown client type 'x'`.
    pub fn client_type(name: &[u8]) -> Self {
        quoted("ERR Unknown client type '", name, usize::MAX, "'")
    }

    /// `ERR No such user 'x'`.
    pub fn no_such_user(name: &[u8]) -> Self {
        quoted("ERR No such user '", name, usize::MAX, "'")
    }

    /// `ERR Unrecognized option 'x'` (CLIENT SETINFO).
    pub fn setinfo_option(attr: &[u8]) -> Self {
        quoted("ERR Unrecognized option '", attr, usize::MAX, "'")
    }

    /// `ERR lib-name cannot contain spaces, newlines or special characters.`
    pub fn setinfo_value(attr: &[u8]) -> Self {
        quoted(
            "ERR ",
            attr,
            usize::MAX,
            " cannot contain spaces, newlines or special characters.",
        )
    }

    /// `ERR Unknown option or number of arguments for CONFIG SET - 'x'`.
    pub fn config_set_unknown(name: &[u8]) -> Self {
        quoted(
            "ERR Unknown option or number of arguments for CONFIG SET - '",
            name,
            usize::MAX,
            "'",
        )
    }

    /// `ERR CONFIG SET failed (possibly related to argument 'x') - reason`.
    /// `ERR Rewriting config file: <why>`.
    pub fn config_rewrite_failed(why: &str) -> Self {
        CmdError::Custom(format!("ERR Rewriting config file: {why}").into_bytes())
    }

    pub fn config_set_failed(name: &[u8], reason: &str) -> Self {
        let tail = format!("') - {reason}");
        quoted(
            "ERR CONFIG SET failed (possibly related to argument '",
            name,
            usize::MAX,
            &tail,
        )
    }

    /// Redis's `addReplySubcommandSyntaxError`: `ERR unknown subcommand or
    /// wrong number of arguments for 'x'. Try DEBUG HELP.`
    pub fn subcommand_syntax(sub: &[u8], container: &str) -> Self {
        let tail = format!("'. Try {} HELP.", container.to_ascii_uppercase());
        quoted(
            "ERR unknown subcommand or wrong number of arguments for '",
            sub,
            128,
            &tail,
        )
    }

    /// The command refused by the user's ACL (`processCommand`).
    pub fn noperm(denied: crate::acl::Denied, full_name: &str) -> Self {
        use crate::acl::Denied;
        CmdError::Custom(
            match denied {
                Denied::Command => format!(
                    "NOPERM this user has no permissions to run the '{full_name}' command"
                ),
                Denied::Key(_) => "NOPERM this user has no permissions to access one of the keys used as arguments".into(),
                Denied::Channel(_) => "NOPERM this user has no permissions to access one of the channels used as arguments".into(),
            }
            .into_bytes(),
        )
    }

    /// A script that does not compile.
    pub fn script_compile(lua_message: &str) -> Self {
        CmdError::err(format!(
            "ERR Error compiling script (new function): {lua_message}"
        ))
    }

    /// A shebang naming another engine than `lua`.
    pub fn script_unknown_engine(engine: &str) -> Self {
        CmdError::err(format!("ERR Unexpected engine in script shebang: {engine}"))
    }

    /// A shebang option other than `flags=`.
    pub fn script_unknown_shebang_option(option: &str) -> Self {
        CmdError::err(format!("ERR Unknown lua shebang option: {option}"))
    }

    /// A shebang flag Redis does not know.
    pub fn script_unknown_flag(flag: &str) -> Self {
        CmdError::err(format!("ERR Unexpected flag in script shebang: {flag}"))
    }

    /// A queued command the user may no longer run, found at EXEC.
    pub fn noperm_at_exec(denied: crate::acl::Denied) -> Self {
        use crate::acl::Denied;
        let reason = match denied {
            Denied::Command => "no permission to execute the command or subcommand",
            Denied::Key(_) => "no permission to touch the specified keys",
            Denied::Channel(_) => "no permission to access one of the channels used as arguments",
        };
        CmdError::err(format!("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {reason}"))
    }

    /// ACL DRYRUN's answer for a denied command: a bulk reply, not an
    /// error, but its text lives here with the others.
    pub fn dryrun_denied(denied: crate::acl::Denied, full_name: &str, arg: &[u8]) -> Vec<u8> {
        use crate::acl::Denied;
        let mut s = Vec::new();
        match denied {
            Denied::Command => s.extend_from_slice(
                format!("This user has no permissions to run the '{full_name}' command").as_bytes(),
            ),
            Denied::Key(_) | Denied::Channel(_) => {
                s.extend_from_slice(b"This user has no permissions to access the '");
                s.extend_from_slice(c_str_prefix(arg, arg.len()));
                s.extend_from_slice(if matches!(denied, Denied::Key(_)) {
                    b"' key"
                } else {
                    b"' channel"
                });
            }
        }
        s
    }

    /// `ERR Error in ACL SETUSER modifier '<rule>': <why>` (Redis's
    /// `addReplyErrorSdsSafe` turns CR and LF into spaces).
    pub fn acl_setuser(rule: &[u8], why: AclRuleError) -> Self {
        if why == AclRuleError::UnmatchedParenthesis {
            return safe(quoted(
                "ERR Unmatched parenthesis in acl selector starting at '",
                rule,
                usize::MAX,
                "'.",
            ));
        }
        let tail = format!("': {}", why.text());
        safe(quoted(
            "ERR Error in ACL SETUSER modifier '",
            rule,
            usize::MAX,
            &tail,
        ))
    }

    /// `ERR Unknown category 'x'` (ACL CAT).
    pub fn acl_unknown_category(name: &[u8]) -> Self {
        quoted("ERR Unknown category '", name, 128, "'")
    }

    /// `ERR User 'x' not found` (ACL DRYRUN).
    pub fn acl_no_user(name: &[u8]) -> Self {
        safe(quoted("ERR User '", name, usize::MAX, "' not found"))
    }

    /// `ERR Command 'x' not found` (ACL DRYRUN).
    pub fn acl_no_command(name: &[u8]) -> Self {
        safe(quoted("ERR Command '", name, usize::MAX, "' not found"))
    }

    /// ACL LOAD's list of problems, after `ERR `.
    pub fn acl_load(errors: &str) -> Self {
        safe(CmdError::err(format!("ERR {errors}")))
    }

    /// CLIENT TRACKING … BCAST PREFIX: two prefixes overlap (`existing`:
    /// the second is one the client already has).
    pub fn tracking_prefix_overlap(prefix: &[u8], other: &[u8], existing: bool) -> Self {
        let (p, o) = (
            String::from_utf8_lossy(prefix),
            String::from_utf8_lossy(other),
        );
        let what = if existing {
            "an existing"
        } else {
            "another provided"
        };
        CmdError::err(format!(
            "ERR Prefix '{p}' overlaps with {what} prefix '{o}'. Prefixes for a single client must not overlap."
        ))
    }

    /// GEOADD or a search centre outside the indexable area, printed with
    /// C's `%f`.
    pub fn geo_invalid_pair(lon: f64, lat: f64) -> Self {
        let f = |v: f64| {
            if v.is_infinite() {
                if v > 0.0 {
                    "inf".to_string()
                } else {
                    "-inf".to_string()
                }
            } else {
                format!("{v:.6}")
            }
        };
        CmdError::err(format!(
            "ERR invalid longitude,latitude pair {},{}",
            f(lon),
            f(lat)
        ))
    }

    /// A STORE form of a geo search asked for WITH… options.
    pub fn geo_store_with(geosearchstore: bool) -> Self {
        let what = if geosearchstore {
            "GEOSEARCHSTORE"
        } else {
            "STORE option in GEORADIUS"
        };
        CmdError::err(format!(
            "ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        ))
    }

    /// GEOSEARCH without its centre (`from`) or its shape: Redis names the
    /// command as the client spelled it.
    pub fn geo_exactly_one(from: bool, cmd: &[u8]) -> Self {
        let head = if from {
            "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for "
        } else {
            "ERR exactly one of BYRADIUS and BYBOX can be specified for "
        };
        safe(quoted(head, cmd, usize::MAX, ""))
    }

    /// `NOGROUP No such key '<key>' or consumer group '<group>'<tail>`
    /// (XREADGROUP adds ` in XREADGROUP with GROUP option`).
    pub fn nogroup_key(key: &[u8], group: &[u8], tail: &str) -> Self {
        let mut s = b"NOGROUP No such key '".to_vec();
        s.extend_from_slice(c_str_prefix(key, usize::MAX));
        s.extend_from_slice(b"' or consumer group '");
        s.extend_from_slice(c_str_prefix(group, usize::MAX));
        s.push(b'\'');
        s.extend_from_slice(tail.as_bytes());
        safe(CmdError::Custom(s))
    }

    /// `NOGROUP No such consumer group '<group>' for key name '<key>'`.
    pub fn nogroup_for_key(group: &[u8], key: &[u8]) -> Self {
        let mut s = b"NOGROUP No such consumer group '".to_vec();
        s.extend_from_slice(c_str_prefix(group, usize::MAX));
        s.extend_from_slice(b"' for key name '");
        s.extend_from_slice(c_str_prefix(key, usize::MAX));
        s.push(b'\'');
        safe(CmdError::Custom(s))
    }

    /// `ERR Unrecognized XCLAIM option '<opt>'`.
    pub fn xclaim_option(opt: &[u8]) -> Self {
        safe(quoted(
            "ERR Unrecognized XCLAIM option '",
            opt,
            usize::MAX,
            "'",
        ))
    }

    pub fn err(text: impl Into<String>) -> Self {
        CmdError::Custom(text.into().into_bytes())
    }
}

/// The fixed texts of the stream commands' errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamError {
    InvalidId,
    MaxlenMinid,
    MaxlenNegative,
    LimitNegative,
    LimitNoStrategy,
    XtrimNoStrategy,
    LimitNoApprox,
    IdZero,
    Exhausted,
    IdTooSmall,
    TooLarge,
    InvalidStart,
    InvalidEnd,
    Unbalanced,
    GroupInXread,
    NoackInXread,
    MissingGroup,
    DollarInGroup,
    GreaterInXread,
    EntriesRead,
    KeyMustExist,
    BusyGroup,
    EntriesAddedNegative,
    SetidBelowMaxDeleted,
    SetidBelowTop,
    SetidBelowLength,
    MinIdleXclaim,
    IdleXclaim,
    TimeXclaim,
    RetrycountXclaim,
    MinIdleXautoclaim,
    CountPositive,
    GroupGone,
    KeyGone,
}

impl StreamError {
    pub fn text(self) -> &'static str {
        use StreamError::*;
        match self {
            InvalidId => "ERR Invalid stream ID specified as stream command argument",
            MaxlenMinid => "ERR syntax error, MAXLEN and MINID options at the same time are not compatible",
            MaxlenNegative => "ERR The MAXLEN argument must be >= 0.",
            LimitNegative => "ERR The LIMIT argument must be >= 0.",
            LimitNoStrategy => "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy",
            XtrimNoStrategy => "ERR syntax error, XTRIM must be called with a trimming strategy",
            LimitNoApprox => "ERR syntax error, LIMIT cannot be used without the special ~ option",
            IdZero => "ERR The ID specified in XADD must be greater than 0-0",
            Exhausted => "ERR The stream has exhausted the last possible ID, unable to add more items",
            IdTooSmall => "ERR The ID specified in XADD is equal or smaller than the target stream top item",
            TooLarge => "ERR Elements are too large to be stored",
            InvalidStart => "ERR invalid start ID for the interval",
            InvalidEnd => "ERR invalid end ID for the interval",
            Unbalanced => "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
            GroupInXread => "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
            NoackInXread => "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
            MissingGroup => "ERR Missing GROUP option for XREADGROUP",
            DollarInGroup => "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.",
            GreaterInXread => "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
            EntriesRead => "ERR value for ENTRIESREAD must be positive or -1",
            KeyMustExist => "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.",
            BusyGroup => "BUSYGROUP Consumer Group name already exists",
            EntriesAddedNegative => "ERR entries_added must be positive",
            SetidBelowMaxDeleted => "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
            SetidBelowTop => "ERR The ID specified in XSETID is smaller than the target stream top item",
            SetidBelowLength => "ERR The entries_added specified in XSETID is smaller than the target stream length",
            MinIdleXclaim => "ERR Invalid min-idle-time argument for XCLAIM",
            IdleXclaim => "ERR Invalid IDLE option argument for XCLAIM",
            TimeXclaim => "ERR Invalid TIME option argument for XCLAIM",
            RetrycountXclaim => "ERR Invalid RETRYCOUNT option argument for XCLAIM",
            MinIdleXautoclaim => "ERR Invalid min-idle-time argument for XAUTOCLAIM",
            CountPositive => "ERR COUNT must be > 0",
            GroupGone => "NOGROUP the consumer group this client was blocked on no longer exists",
            KeyGone => "UNBLOCKED the stream key no longer exists",
        }
    }
}

/// Why an ACL rule was refused (Redis's `ACLSetUserStringError`, keyed by
/// the errno its parser sets).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AclRuleError {
    /// ENOENT.
    UnknownCommand,
    /// EINVAL.
    Syntax,
    /// EEXIST.
    KeysAfterAll,
    /// EISDIR.
    ChannelsAfterAll,
    /// ENODEV.
    NoSuchPassword,
    /// EBADMSG.
    BadHash,
    /// ECHILD.
    FirstArgOfSubcommand,
    /// A `(` whose selector never closes.
    UnmatchedParenthesis,
}

impl AclRuleError {
    pub fn text(self) -> &'static str {
        match self {
            AclRuleError::UnknownCommand => "Unknown command or category name in ACL",
            AclRuleError::Syntax => "Syntax error",
            AclRuleError::KeysAfterAll => "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
            AclRuleError::ChannelsAfterAll => "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
            AclRuleError::NoSuchPassword => "The password you are trying to remove from the user does not exist",
            AclRuleError::BadHash => "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
            AclRuleError::FirstArgOfSubcommand => "Allowing first-arg of a subcommand is not supported",
            AclRuleError::UnmatchedParenthesis => "Unmatched parenthesis in acl selector",
        }
    }
}

/// CR and LF in an error made of client data become spaces, so the reply
/// stays one line.
fn safe(e: CmdError) -> CmdError {
    match e {
        CmdError::Custom(mut s) => {
            for c in &mut s {
                if *c == b'\r' || *c == b'\n' {
                    *c = b' ';
                }
            }
            CmdError::Custom(s)
        }
        other => other,
    }
}

/// Redis writes `invalid expire time in '<cmd>' command` with the calling
/// command's name. The variant carries that name; the texts are spelled out
/// here so that `message()` can keep returning a borrowed line. Every
/// command Redis 7.0 answers this error for is listed.
fn invalid_expire_text(cmd: &str) -> &'static str {
    macro_rules! texts {
        ($($name:literal),*) => {
            match cmd {
                $($name => concat!("ERR invalid expire time in '", $name, "' command"),)*
                _ => {
                    debug_assert!(false, "InvalidExpire for unlisted command {cmd}");
                    "ERR invalid expire time"
                }
            }
        };
    }
    texts!(
        "set",
        "setex",
        "psetex",
        "getex",
        "expire",
        "pexpire",
        "expireat",
        "pexpireat"
    )
}

/// `head` + `arg` (as C's `%.<max>s` prints it) + `tail`.
fn quoted(head: &str, arg: &[u8], max: usize, tail: &str) -> CmdError {
    let mut s = head.as_bytes().to_vec();
    s.extend_from_slice(c_str_prefix(arg, max));
    s.extend_from_slice(tail.as_bytes());
    CmdError::Custom(s)
}

/// Up to `max` bytes of `s`, stopping at a NUL the way C's `%.*s` does.
fn c_str_prefix(s: &[u8], max: usize) -> &[u8] {
    let s = &s[..s.len().min(max)];
    s.split(|&c| c == 0).next().unwrap_or_default()
}

/// The whole error line, `-` and CRLF included, for a backend that answers
/// before any session exists (a connection over maxclients, or refused by
/// protected mode).
pub fn error_line(e: &CmdError) -> Vec<u8> {
    let mut reply = crate::resp::Reply::default();
    reply.error(e.message());
    reply.buf
}

pub type CmdResult = Result<(), CmdError>;

/// Why a script's command was refused by the ACL (Redis's
/// `getAclErrorMessage`), after `The user executing the script `.
pub fn acl_denied_reason(denied: crate::acl::Denied) -> &'static str {
    use crate::acl::Denied;
    match denied {
        Denied::Command => "can't run this command or subcommand",
        Denied::Key(_) => {
            "can't access at least one of the keys mentioned in the command arguments"
        }
        Denied::Channel(_) => "can't publish to the channel mentioned in the command",
    }
}
