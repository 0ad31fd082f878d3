/*
 * The screens and dialogs a visit to a room does not need, as one chunk: fetched together the first time one
 * of them opens (`lazyComponent`). One chunk rather than one per screen keeps the scripts the page starts
 * with to a handful of files (each split point would add chunks of the code it shares with the others).
 */

export { WorkflowsDialog } from '../workflows-view';
export { PluginsDialog } from './AdminPlugins';
export { BrowseChannelsDialog, CreateRoomDialog, DirectMessageDialog, PeopleDialog } from './Dialogs';
export { EmojiPicker } from './EmojiPicker';
export { GroupMessageDialog } from './GroupMessageDialog';
export { ProfileDialog } from './ProfileDialog';
export { ProjectsView } from './ProjectsView';
export { RoomDetailsPanel } from './RoomDetailsPanel';
export { SearchPanel } from './SearchPanel';
export { CreateTicketButton } from './TicketDialog';
