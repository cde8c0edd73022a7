alter table users drop column login_blocked_until;
alter table users drop column failed_logins;
drop table sessions;
